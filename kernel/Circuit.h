#pragma once
// One circuit breaker: after `failureThreshold` failures in a row it opens
// for a back-off that doubles on each further failure, up to a cap; when the
// back-off runs out it is half-open and the first request (or probe) to
// reach it is its trial; success closes it. Kept for each backend and for
// each (backend, model) that failed (BackendHealth). Lock-free but for the
// last error, which takes a short lock.
// Thread: any.

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "sluice/Health.h"

namespace sluice::kernel {

struct CircuitPolicy {
    int failureThreshold = 3;
    std::chrono::milliseconds baseBackoff{1000};
    std::chrono::milliseconds maxBackoff{60000};
};

class Circuit {
public:
    // `nowMs`: the health clock's steady milliseconds, passed in so tests
    // can drive every circuit from one injected clock.
    CircuitState state(long long nowMs) const;
    // Closed, or half-open with its trial not yet taken.
    bool available(long long nowMs) const;
    // True if it was open (or half-open) and is now closed.
    bool succeed();
    // Counts a failure; true when the circuit is open after it. `error` is
    // shown on /v1/health: pass a sanitized description, or "" to keep the last.
    bool fail(long long nowMs, const CircuitPolicy& policy, const std::string& error);
    // Takes the trial of a half-open circuit; false if it is not half-open or taken.
    bool takeTrial(long long nowMs);
    // Gives back a trial that ended without a verdict, if still half-open.
    void releaseTrial(long long nowMs);

    int consecutiveFailures() const { return _consecutiveFailures.load(std::memory_order_relaxed); }
    long long openUntilMs() const { return _openUntilMs.load(std::memory_order_acquire); }
    // The last error and when it came.
    std::pair<std::string, std::chrono::system_clock::time_point> lastError() const;

private:
    std::atomic<int> _consecutiveFailures{0};
    std::atomic<long long> _openUntilMs{0};  // 0: closed; else steady-clock ms when the back-off ends
    std::atomic<bool> _trialTaken{false};
    mutable std::mutex _errorMutex;
    std::string _lastError;
    std::chrono::system_clock::time_point _lastErrorAt{};
};

} // namespace sluice::kernel
