#pragma once
// Counts failed authentications per client address and refuses an address
// that failed too often in the last minute, so nobody can guess keys or burn
// the gateway's CPU on argon2 verifies. A sliding-window counter: the last
// minute is estimated from this minute's count and a fading share of the
// previous one, so there is no burst at a window edge.
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

    // Seconds until `address` may try again, or nullopt if it may now.
    std::optional<int> blockedFor(const std::string& address, Clock::time_point now = Clock::now());
    void recordFailure(const std::string& address, Clock::time_point now = Clock::now());

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
    void prune(std::int64_t minute);

    std::uint32_t _perMinute;
    mutable std::mutex _mutex;
    std::unordered_map<std::string, Window> _windows;
};

} // namespace sluice::auth
