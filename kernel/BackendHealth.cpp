#include "BackendHealth.h"

#include <algorithm>
#include <regex>

namespace sluice::kernel {

std::string_view circuitName(CircuitState state) {
    switch (state) {
    case CircuitState::Closed: return "closed";
    case CircuitState::Open: return "open";
    case CircuitState::HalfOpen: return "half_open";
    }
    return "closed";
}

bool revealsBackend(const std::string& text, const Backend& backend) {
    // Poco puts the resolved address ("10.1.2.3:11434", "[fd00::1]:11434")
    // into some connect errors, so the host name alone is not enough.
    static const std::regex address(R"((\d{1,3}\.){3}\d{1,3}|\[[0-9A-Fa-f:.]+\])");
    return text.find("://") != std::string::npos || (!backend.host.empty() && text.find(backend.host) != std::string::npos) ||
           std::regex_search(text, address);
}

std::string healthSafe(const std::string& text, const Backend& backend, const std::string& fallback) {
    if (text.empty() || revealsBackend(text, backend)) return fallback;
    return text.size() > 200 ? text.substr(0, 200) : text;
}

BackendHealth::BackendHealth(const BackendList& backends, HealthPolicy policy, MetricsRegistry* metrics)
    : _policy(std::move(policy)) {
    if (!_policy.clock) _policy.clock = [] { return std::chrono::steady_clock::now(); };
    for (const auto& backend : backends) {
        auto state = std::make_unique<State>();
        if (metrics) {
            state->healthy = &metrics->gauge("sluice_backend_healthy",
                                             "1 while the backend's circuit is closed, 0 while it is open or half-open.",
                                             {{"backend", backend->name}});
            // Not set here: a pipeline built by a reload that is then
            // refused must not overwrite the running pipeline's figures.
            // publish() does it when this health state goes live.
        }
        _states.emplace(backend->name, std::move(state));
    }
}

long long BackendHealth::nowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(_policy.clock().time_since_epoch()).count();
}

BackendHealth::State* BackendHealth::find(const std::string& backend) const {
    auto it = _states.find(backend);
    return it == _states.end() ? nullptr : it->second.get();
}

CircuitState BackendHealth::stateOf(const State& state) const {
    const auto openUntil = state.openUntilMs.load(std::memory_order_acquire);
    if (openUntil == 0) return CircuitState::Closed;
    return nowMs() < openUntil ? CircuitState::Open : CircuitState::HalfOpen;
}

CircuitState BackendHealth::circuit(const std::string& backend) const {
    const auto* state = find(backend);
    return state ? stateOf(*state) : CircuitState::Open;
}

bool BackendHealth::isAvailable(const std::string& backend) const {
    const auto* state = find(backend);
    if (!state) return false;
    switch (stateOf(*state)) {
    case CircuitState::Closed: return true;
    case CircuitState::Open: return false;
    case CircuitState::HalfOpen: return !state->trialTaken.load(std::memory_order_acquire);
    }
    return false;
}

int BackendHealth::inFlight(const std::string& backend) const {
    const auto* state = find(backend);
    return state ? state->inFlight.load(std::memory_order_relaxed) : 0;
}

int BackendHealth::consecutiveFailures(const std::string& backend) const {
    const auto* state = find(backend);
    return state ? state->consecutiveFailures.load(std::memory_order_relaxed) : 0;
}

void BackendHealth::publish() {
    for (auto& [name, state] : _states)
        if (state->healthy) state->healthy->set(1);  // every circuit starts closed
}

void BackendHealth::recordSuccess(const std::string& backend) {
    auto* state = find(backend);
    if (!state) return;
    state->consecutiveFailures.store(0, std::memory_order_relaxed);
    state->openUntilMs.store(0, std::memory_order_release);
    state->trialTaken.store(false, std::memory_order_release);
    if (state->healthy) state->healthy->set(1);
}

void BackendHealth::recordFailure(const std::string& backend, const std::string& error) {
    auto* state = find(backend);
    if (!state) return;
    if (!error.empty()) {
        std::lock_guard lock(state->errorMutex);
        state->lastError = error;
        state->lastErrorAt = std::chrono::system_clock::now();
    }
    const int failures = state->consecutiveFailures.fetch_add(1, std::memory_order_relaxed) + 1;
    if (failures < _policy.failureThreshold) return;
    // Each failure past the threshold doubles the back-off, up to the cap.
    const int doublings = std::min(failures - _policy.failureThreshold, 16);
    const auto backoff = std::min<std::chrono::milliseconds>(_policy.baseBackoff * (1LL << doublings), _policy.maxBackoff);
    state->openUntilMs.store(nowMs() + backoff.count(), std::memory_order_release);
    state->trialTaken.store(false, std::memory_order_release);
    if (state->healthy) state->healthy->set(0);
}

void BackendHealth::recordFirstByte(const std::string& backend, const std::string& model, std::chrono::nanoseconds elapsed) {
    auto* state = find(backend);
    if (!state) return;
    const double sample = std::chrono::duration<double, std::milli>(elapsed).count();
    const double weight = _policy.latencyWeight;
    auto blend = [&](std::optional<double>& average) { average = average ? *average + weight * (sample - *average) : sample; };
    std::unique_lock lock(state->latencyMutex);
    auto it = state->firstByteByModel.find(model);
    if (it == state->firstByteByModel.end()) {
        // Bounded by the catalog in practice; a cap keeps a client inventing names from growing it.
        if (state->firstByteByModel.size() < 4096) state->firstByteByModel.emplace(model, sample);
    } else {
        it->second += weight * (sample - it->second);
    }
    blend(state->firstByteAll);
}

std::optional<double> BackendHealth::firstByteMillis(const std::string& backend, const std::string& model) const {
    const auto* state = find(backend);
    if (!state) return std::nullopt;
    std::shared_lock lock(state->latencyMutex);
    auto it = state->firstByteByModel.find(model);
    if (it == state->firstByteByModel.end()) return std::nullopt;
    return it->second;
}

bool BackendHealth::beginRequest(const std::string& backend) {
    auto* state = find(backend);
    if (!state) return false;
    state->inFlight.fetch_add(1, std::memory_order_relaxed);
    if (stateOf(*state) != CircuitState::HalfOpen) return false;
    bool expected = false;
    return state->trialTaken.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
}

void BackendHealth::endRequest(const std::string& backend, bool tookTrial) {
    auto* state = find(backend);
    if (!state) return;
    state->inFlight.fetch_sub(1, std::memory_order_relaxed);
    if (tookTrial) releaseTrial(backend);
}

void BackendHealth::releaseTrial(const std::string& backend) {
    // A verdict moves the circuit out of half-open (closed or open again);
    // still half-open means the trial ended without one: let the next try.
    auto* state = find(backend);
    if (state && stateOf(*state) == CircuitState::HalfOpen) state->trialTaken.store(false, std::memory_order_release);
}

bool BackendHealth::takeTrial(const std::string& backend) {
    auto* state = find(backend);
    if (!state || stateOf(*state) != CircuitState::HalfOpen) return false;
    bool expected = false;
    return state->trialTaken.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
}

HealthReport BackendHealth::report(const std::string& backend) const {
    HealthReport report;
    const auto* state = find(backend);
    if (!state) return report;
    report.state = stateOf(*state);
    report.consecutiveFailures = state->consecutiveFailures.load(std::memory_order_relaxed);
    report.inFlight = state->inFlight.load(std::memory_order_relaxed);
    if (report.state != CircuitState::Closed) {
        const auto remaining = std::chrono::milliseconds(state->openUntilMs.load(std::memory_order_acquire) - nowMs());
        report.unhealthyUntil = std::chrono::system_clock::now() + std::max(remaining, std::chrono::milliseconds(0));
    }
    {
        std::lock_guard lock(state->errorMutex);
        report.lastError = state->lastError;
        report.lastErrorAt = state->lastErrorAt;
    }
    std::shared_lock lock(state->latencyMutex);
    report.firstByteMillis = state->firstByteAll;
    return report;
}

} // namespace sluice::kernel
