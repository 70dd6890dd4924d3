#include "FailureLimiter.h"

#include <cmath>

namespace sluice::auth {

namespace {
// Beyond this many addresses, those idle for two minutes are forgotten: a
// spray from many addresses cannot grow the table without bound.
constexpr std::size_t kPruneAbove = 100000;
} // namespace

FailureLimiter::FailureLimiter(std::uint32_t perMinute) : _perMinute(perMinute) {}

std::int64_t FailureLimiter::minuteOf(Clock::time_point now) {
    return std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count();
}

void FailureLimiter::roll(Window& window, std::int64_t minute) {
    if (window.minute == minute) return;
    window.previous = window.minute + 1 == minute ? window.current : 0;
    window.current = 0;
    window.minute = minute;
}

double FailureLimiter::estimate(const Window& window, Clock::time_point now) const {
    const auto intoMinute = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 60000;
    const double fading = 1.0 - static_cast<double>(intoMinute) / 60000.0;
    return window.current + window.previous * fading;
}

std::optional<int> FailureLimiter::blockedFor(const std::string& address, Clock::time_point now) {
    if (_perMinute == 0) return std::nullopt;
    std::lock_guard lock(_mutex);
    const auto found = _windows.find(address);
    if (found == _windows.end()) return std::nullopt;
    auto& window = found->second;
    roll(window, minuteOf(now));
    if (estimate(window, now) < _perMinute) return std::nullopt;
    // The first whole second at which, with no further failure, the window
    // has faded below the limit (at most two minutes: by then all is gone).
    for (int seconds = 1; seconds < 120; ++seconds) {
        const auto then = now + std::chrono::seconds(seconds);
        auto later = window;
        roll(later, minuteOf(then));
        if (estimate(later, then) < _perMinute) return seconds;
    }
    return 120;
}

void FailureLimiter::recordFailure(const std::string& address, Clock::time_point now) {
    if (_perMinute == 0) return;
    std::lock_guard lock(_mutex);
    const auto minute = minuteOf(now);
    if (_windows.size() > kPruneAbove) prune(minute);
    auto& window = _windows[address];
    roll(window, minute);
    ++window.current;
}

void FailureLimiter::prune(std::int64_t minute) {
    for (auto it = _windows.begin(); it != _windows.end();)
        it = it->second.minute + 1 < minute ? _windows.erase(it) : std::next(it);
}

std::size_t FailureLimiter::trackedAddresses() const {
    std::lock_guard lock(_mutex);
    return _windows.size();
}

} // namespace sluice::auth
