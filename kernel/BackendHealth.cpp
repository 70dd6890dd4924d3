#include "BackendHealth.h"

namespace sluice::kernel {

namespace {
long long nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
} // namespace

BackendHealth::BackendHealth(const BackendList& backends, HealthPolicy policy) : _policy(policy) {
    for (const auto& backend : backends) _states.emplace(backend->name, std::make_unique<State>());
}

BackendHealth::State* BackendHealth::find(const std::string& backend) const {
    auto it = _states.find(backend);
    return it == _states.end() ? nullptr : it->second.get();
}

bool BackendHealth::isAvailable(const std::string& backend) const {
    const auto* state = find(backend);
    return state != nullptr && state->openUntilMs.load(std::memory_order_relaxed) <= nowMs();
}

int BackendHealth::inFlight(const std::string& backend) const {
    const auto* state = find(backend);
    return state ? state->inFlight.load(std::memory_order_relaxed) : 0;
}

int BackendHealth::consecutiveFailures(const std::string& backend) const {
    const auto* state = find(backend);
    return state ? state->consecutiveFailures.load(std::memory_order_relaxed) : 0;
}

void BackendHealth::recordSuccess(const std::string& backend) {
    if (auto* state = find(backend)) {
        state->consecutiveFailures.store(0, std::memory_order_relaxed);
        state->openUntilMs.store(0, std::memory_order_relaxed);
    }
}

void BackendHealth::recordFailure(const std::string& backend) {
    auto* state = find(backend);
    if (!state) return;
    const int failures = state->consecutiveFailures.fetch_add(1, std::memory_order_relaxed) + 1;
    if (failures < _policy.failureThreshold) return;
    // Each failure past the threshold doubles the back-off, up to the cap.
    const int doublings = std::min(failures - _policy.failureThreshold, 16);
    const auto backoff = std::min<std::chrono::milliseconds>(_policy.baseBackoff * (1LL << doublings), _policy.maxBackoff);
    state->openUntilMs.store(nowMs() + backoff.count(), std::memory_order_relaxed);
}

void BackendHealth::beginRequest(const std::string& backend) {
    if (auto* state = find(backend)) state->inFlight.fetch_add(1, std::memory_order_relaxed);
}

void BackendHealth::endRequest(const std::string& backend) {
    if (auto* state = find(backend)) state->inFlight.fetch_sub(1, std::memory_order_relaxed);
}

} // namespace sluice::kernel
