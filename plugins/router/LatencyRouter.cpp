#include "LatencyRouter.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

namespace sluice::router {

LatencyRouter::LatencyRouter(const StageSetup& setup) : OrderingRouter(setup.services) {
    // A ratio in percent-free form: explore_ratio = 0.05. ConfigReader reads
    // integers, so the value is parsed here with its own bounds check.
    const auto text = setup.reader.text("explore_ratio", "0.05");
    try {
        std::size_t used = 0;
        _exploreRatio = std::stod(text, &used);
        if (used != text.size() || !(_exploreRatio >= 0.0 && _exploreRatio <= 1.0)) throw std::invalid_argument(text);
    } catch (const std::exception&) {
        throw ConfigError(setup.reader.fullKey("explore_ratio"), "'" + text + "' is not a number from 0 to 1");
    }
    // A fixed seed makes exploration repeatable (tests); 0 seeds from the OS.
    const auto seed = setup.reader.integer("seed", 0, 0, INT64_MAX);
    _random.seed(seed != 0 ? static_cast<std::uint64_t>(seed) : std::random_device{}());
}

void LatencyRouter::order(const RequestContext&, std::vector<Candidate>& step) {
    const auto& health = services().health();
    std::map<std::string, std::optional<double>> averages;
    for (const auto& candidate : step)
        averages.emplace(candidate.backend, health.firstByteMillis(candidate.backend, candidate.upstreamModel));
    // Unmeasured first (-1), then fastest; ties keep config order.
    auto key = [&](const Candidate& c) { return averages[c.backend].value_or(-1.0); };
    std::stable_sort(step.begin(), step.end(), [&](const Candidate& a, const Candidate& b) { return key(a) < key(b); });
    for (auto& candidate : step) {
        const auto& average = averages[candidate.backend];
        candidate.reason = average ? "first byte " + std::to_string(std::lround(*average)) + " ms avg" : "not yet timed";
    }
    if (step.size() < 2 || _exploreRatio <= 0.0) return;
    std::size_t explore = 0;
    {
        std::lock_guard lock(_mutex);
        if (std::uniform_real_distribution<double>(0.0, 1.0)(_random) < _exploreRatio)
            explore = 1 + std::uniform_int_distribution<std::size_t>(0, step.size() - 2)(_random);
    }
    if (explore == 0) return;
    std::rotate(step.begin(), step.begin() + static_cast<std::ptrdiff_t>(explore),
                step.begin() + static_cast<std::ptrdiff_t>(explore) + 1);
    step.front().reason += ", exploring";
}

} // namespace sluice::router
