#include "Circuit.h"

#include <algorithm>

namespace sluice::kernel {

CircuitState Circuit::state(long long nowMs) const {
    const auto openUntil = _openUntilMs.load(std::memory_order_acquire);
    if (openUntil == 0) return CircuitState::Closed;
    return nowMs < openUntil ? CircuitState::Open : CircuitState::HalfOpen;
}

bool Circuit::available(long long nowMs) const {
    switch (state(nowMs)) {
    case CircuitState::Closed: return true;
    case CircuitState::Open: return false;
    case CircuitState::HalfOpen: return !_trialTaken.load(std::memory_order_acquire);
    }
    return false;
}

bool Circuit::succeed() {
    _consecutiveFailures.store(0, std::memory_order_relaxed);
    const bool wasOpen = _openUntilMs.exchange(0, std::memory_order_acq_rel) != 0;
    _trialTaken.store(false, std::memory_order_release);
    return wasOpen;
}

bool Circuit::fail(long long nowMs, const CircuitPolicy& policy, const std::string& error) {
    if (!error.empty()) {
        std::lock_guard lock(_errorMutex);
        _lastError = error;
        _lastErrorAt = std::chrono::system_clock::now();
    }
    const int failures = _consecutiveFailures.fetch_add(1, std::memory_order_relaxed) + 1;
    if (failures < policy.failureThreshold) return false;
    // Each failure past the threshold doubles the back-off, up to the cap.
    const int doublings = std::min(failures - policy.failureThreshold, 16);
    const auto backoff = std::min<std::chrono::milliseconds>(policy.baseBackoff * (1LL << doublings), policy.maxBackoff);
    _openUntilMs.store(nowMs + backoff.count(), std::memory_order_release);
    _trialTaken.store(false, std::memory_order_release);
    return true;
}

bool Circuit::takeTrial(long long nowMs) {
    if (state(nowMs) != CircuitState::HalfOpen) return false;
    bool expected = false;
    return _trialTaken.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
}

void Circuit::releaseTrial(long long nowMs) {
    // A verdict moves the circuit out of half-open (closed or open again);
    // still half-open means the trial ended without one: let the next try.
    if (state(nowMs) == CircuitState::HalfOpen) _trialTaken.store(false, std::memory_order_release);
}

std::pair<std::string, std::chrono::system_clock::time_point> Circuit::lastError() const {
    std::lock_guard lock(_errorMutex);
    return {_lastError, _lastErrorAt};
}

} // namespace sluice::kernel
