#pragma once
// Counts failed authentications per client address and refuses an address
// that failed too often in the last minute, so nobody can guess keys or burn
// the gateway's CPU on argon2 verifies. A sliding-window counter: the last
// minute is estimated from this minute's count and a fading share of the
// previous one, so there is no burst at a window edge.
//
// IPv6 clients count per /64 (one host usually holds a whole /64). An
// attempt is counted before its verify and forgiven if the key was valid, so
// a burst of concurrent bad keys cannot all slip past the check. The table is
// bounded: past kMaxAddresses, idle entries are pruned at most once a second,
// and while it stays full new addresses are not tracked (that evades the
// limit for them, but a spray of addresses cannot grow memory or stall
// requests on the lock).
// Thread: every method may be called from any thread.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace sluice::auth {

class FailureLimiter {
public:
    using Clock = std::chrono::steady_clock;

    // perMinute 0: no limit.
    explicit FailureLimiter(std::uint32_t perMinute);

    // Checks and counts an attempt in one step: the seconds until `address`
    // may try again (nothing counted), or nullopt with one failure recorded
    // (forgive() it if the attempt succeeds).
    std::optional<int> admitAttempt(const std::string& address, Clock::time_point now = Clock::now());

    // Seconds until `address` may try again, or nullopt if it may now.
    std::optional<int> blockedFor(const std::string& address, Clock::time_point now = Clock::now());
    void recordFailure(const std::string& address, Clock::time_point now = Clock::now());
    // Takes back one failure recorded for an attempt that turned out valid.
    void forgive(const std::string& address, Clock::time_point now = Clock::now());

    // The counting key of an address: itself for IPv4, its /64 for IPv6.
    static std::string addressKey(const std::string& address);
    static constexpr std::size_t kMaxAddresses = 100000;

    std::size_t trackedAddresses() const;

private:
    struct Window {
        std::int64_t minute = 0;
        std::uint32_t current = 0;
        std::uint32_t previous = 0;
    };
    static std::int64_t minuteOf(Clock::time_point now);
    static void roll(Window& window, std::int64_t minute);
    double estimate(const Window& window, Clock::time_point now) const;
    std::optional<int> waitFor(Window& window, Clock::time_point now) const;
    void countLocked(const std::string& key, Clock::time_point now);
    void prune(std::int64_t minute);

    std::uint32_t _perMinute;
    mutable std::mutex _mutex;
    std::unordered_map<std::string, Window> _windows;
    std::int64_t _lastPruneSecond = 0;
};

} // namespace sluice::auth
