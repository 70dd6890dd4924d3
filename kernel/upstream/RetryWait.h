#pragma once
// When a candidate that failed with a passing failure is tried again
// (RetryPolicy, docs/routing.md "Retries"): after the backend's Retry-After
// when it sent one no longer than retry.max_wait_ms, else after the back-off
// (doubled per retry, with jitter so many clients do not retry in step).

#include <chrono>
#include <optional>
#include <string_view>

#include "http/ClientChannel.h"
#include "sluice/Backend.h"

namespace sluice::kernel {

// A Retry-After value (delay-seconds or an HTTP-date) as a wait from `now`;
// nullopt when it is neither. A date in the past is no wait.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now);

// The wait before retry number `retry` (1 for the first), or nullopt when
// the backend asked for longer than policy.maxWait: fail over at once.
// `unit` in [0, 1) draws the jitter: the back-off b = backoff * 2^(retry-1)
// becomes b/2 + unit * b/2.
std::optional<std::chrono::milliseconds> retryWait(const RetryPolicy& policy, int retry, std::string_view retryAfter,
                                                   double unit, std::chrono::system_clock::time_point now);

// A draw in [0, 1) for retryWait, from a per-thread generator.
double jitterUnit();

// How a pause before a retry ended.
enum class PauseEnd { Waited, ClientGone, Draining };

// Waits `wait`, unless the client hangs up (`clientFd` >= 0) or the drain
// deadline passes first.
PauseEnd pauseBeforeRetry(int clientFd, std::chrono::milliseconds wait);
// Waits until `fd` is readable (a queued request's grant), the client hangs
// up, the drain deadline passes, or `deadline`: parked when the channel can,
// else with the thread held. A negative fd waits for the others only.
WaitEnd awaitReadable(ClientChannel& client, int fd, std::chrono::steady_clock::time_point deadline);

} // namespace sluice::kernel
