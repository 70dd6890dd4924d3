#include "FailureLimiter.h"

#include <cmath>
#include <cstring>

#include <arpa/inet.h>

namespace sluice::auth {

std::string FailureLimiter::addressKey(const std::string& address) {
    in6_addr bytes{};
    if (address.find(':') == std::string::npos || inet_pton(AF_INET6, address.c_str(), &bytes) != 1) return address;
    std::memset(bytes.s6_addr + 8, 0, 8);
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &bytes, text, sizeof text);
    return std::string(text) + "/64";
}

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

std::optional<int> FailureLimiter::waitFor(Window& window, Clock::time_point now) const {
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

std::optional<int> FailureLimiter::blockedFor(const std::string& address, Clock::time_point now) {
    if (_perMinute == 0) return std::nullopt;
    const auto key = addressKey(address);
    std::lock_guard lock(_mutex);
    const auto found = _windows.find(key);
    if (found == _windows.end()) return std::nullopt;
    return waitFor(found->second, now);
}

std::optional<int> FailureLimiter::admitAttempt(const std::string& address, Clock::time_point now) {
    if (_perMinute == 0) return std::nullopt;
    const auto key = addressKey(address);
    std::lock_guard lock(_mutex);
    if (const auto found = _windows.find(key); found != _windows.end())
        if (const auto wait = waitFor(found->second, now)) return wait;
    countLocked(key, now);
    return std::nullopt;
}

void FailureLimiter::recordFailure(const std::string& address, Clock::time_point now) {
    if (_perMinute == 0) return;
    const auto key = addressKey(address);
    std::lock_guard lock(_mutex);
    countLocked(key, now);
}

void FailureLimiter::countLocked(const std::string& key, Clock::time_point now) {
    const auto minute = minuteOf(now);
    auto found = _windows.find(key);
    if (found == _windows.end()) {
        if (_windows.size() >= kMaxAddresses) {
            const auto second = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
            if (second != _lastPruneSecond) {
                _lastPruneSecond = second;
                prune(minute);
            }
            if (_windows.size() >= kMaxAddresses) return;
        }
        found = _windows.emplace(key, Window{}).first;
    }
    roll(found->second, minute);
    ++found->second.current;
}

void FailureLimiter::forgive(const std::string& address, Clock::time_point now) {
    if (_perMinute == 0) return;
    const auto key = addressKey(address);
    std::lock_guard lock(_mutex);
    const auto found = _windows.find(key);
    if (found == _windows.end()) return;
    auto& window = found->second;
    roll(window, minuteOf(now));
    if (window.current > 0) --window.current;
    else if (window.previous > 0) --window.previous;
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
