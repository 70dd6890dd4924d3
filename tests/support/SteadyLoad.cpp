#include "SteadyLoad.h"

#include <algorithm>
#include <cstdio>

#include "HttpClient.h"

namespace sluice::test {

using Clock = std::chrono::steady_clock;

SteadyLoad::SteadyLoad(SteadyLoadSettings settings) : _settings(std::move(settings)) {}

SteadyLoad::~SteadyLoad() {
    for (auto& client : _clients)
        if (client.joinable()) client.join();
}

void SteadyLoad::start() {
    _start = Clock::now();
    _samples.resize(static_cast<std::size_t>(_settings.clients));
    for (int i = 0; i < _settings.clients; ++i) _clients.emplace_back([this, i] { runClient(i); });
}

std::vector<LoadSample> SteadyLoad::wait() {
    for (auto& client : _clients)
        if (client.joinable()) client.join();
    std::vector<LoadSample> all;
    for (auto& part : _samples) all.insert(all.end(), part.begin(), part.end());
    return all;
}

std::chrono::milliseconds SteadyLoad::elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - _start);
}

void SteadyLoad::sleepUntil(std::chrono::milliseconds sinceStart) const { std::this_thread::sleep_until(_start + sinceStart); }

void SteadyLoad::runClient(int index) {
    // Client i sends requests i, i+clients, i+2·clients, …, each due at n / rate.
    const auto total = static_cast<std::uint64_t>(_settings.ratePerSecond * static_cast<double>(_settings.duration.count()) / 1000.0);
    const auto clients = static_cast<std::uint64_t>(_settings.clients);
    auto client = std::make_unique<HttpClient>(_settings.port);
    auto& samples = _samples[static_cast<std::size_t>(index)];
    for (auto n = static_cast<std::uint64_t>(index); n < total; n += clients) {
        const auto due = std::chrono::microseconds(static_cast<std::int64_t>(static_cast<double>(n) * 1e6 / _settings.ratePerSecond));
        std::this_thread::sleep_until(_start + due);
        LoadSample sample;
        sample.requestId = _settings.idPrefix + "-" + std::to_string(n);
        sample.dueAt = due;
        const auto [path, body] = _settings.request(n);
        try {
            const auto result = client->post(path, body, {{"X-Request-ID", sample.requestId}});
            sample.status = result.status;
            sample.errorInBody = result.body.find("\"error\"") != std::string::npos;
            sample.backend = result.header("x-sluice-backend");
        } catch (const std::exception&) {
            sample.status = 0;
            client = std::make_unique<HttpClient>(_settings.port);  // a fresh connection for the next one
        }
        sample.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - (_start + due));
        samples.push_back(std::move(sample));
    }
}

LatencySummary summarize(const std::vector<LoadSample>& samples, std::chrono::milliseconds from, std::chrono::milliseconds to) {
    std::vector<double> ms;
    LatencySummary summary;
    for (const auto& sample : samples) {
        if (sample.dueAt < from || sample.dueAt >= to) continue;
        ms.push_back(static_cast<double>(sample.latency.count()) / 1000.0);
        if (sample.status != 200 || sample.errorInBody) ++summary.failed;
    }
    summary.count = ms.size();
    if (ms.empty()) return summary;
    std::sort(ms.begin(), ms.end());
    auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * static_cast<double>(ms.size())))]; };
    summary.p50Ms = at(0.50);
    summary.p99Ms = at(0.99);
    summary.maxMs = ms.back();
    return summary;
}

std::string describe(const LatencySummary& summary) {
    char text[160];
    std::snprintf(text, sizeof text, "%zu requests, %zu failed, p50 %.2f ms, p99 %.2f ms, max %.2f ms", summary.count,
                  summary.failed, summary.p50Ms, summary.p99Ms, summary.maxMs);
    return text;
}

} // namespace sluice::test
