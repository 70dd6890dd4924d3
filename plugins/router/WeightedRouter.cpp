#include "WeightedRouter.h"

#include <algorithm>

namespace sluice::router {

int WeightedRouter::weightOf(const std::string& backend) const {
    const auto configured = services().backend(backend);
    return configured ? std::max(configured->weight, 1) : 1;
}

void WeightedRouter::order(const RequestContext&, std::vector<Candidate>& step) {
    if (step.empty()) return;
    std::string key;
    long long total = 0;
    for (const auto& candidate : step) {
        key += candidate.backend + '\n';
        total += weightOf(candidate.backend);
    }
    std::string chosen;
    {
        std::lock_guard lock(_mutex);
        auto& current = _current[key];
        long long best = 0;
        for (const auto& candidate : step) {
            auto& weight = current[candidate.backend];
            weight += weightOf(candidate.backend);
            if (chosen.empty() || weight > best) {
                best = weight;
                chosen = candidate.backend;
            }
        }
        current[chosen] -= total;
    }
    std::stable_sort(step.begin(), step.end(), [&](const Candidate& a, const Candidate& b) {
        if ((a.backend == chosen) != (b.backend == chosen)) return a.backend == chosen;
        return weightOf(a.backend) > weightOf(b.backend);
    });
    for (auto& candidate : step) candidate.reason = "weight " + std::to_string(weightOf(candidate.backend));
}

} // namespace sluice::router
