#include "ReadDeadlines.h"

#include <algorithm>

#include <sys/socket.h>

namespace sluice::kernel {

ReadDeadlines& ReadDeadlines::instance() {
    // Leaked on purpose: connection threads may still disarm during exit.
    static auto* deadlines = new ReadDeadlines;
    return *deadlines;
}

ReadDeadlines::ReadDeadlines() : _thread([this] { run(); }) {}

ReadDeadlines::~ReadDeadlines() {
    {
        std::lock_guard lock(_mutex);
        _stopping = true;
    }
    _changed.notify_all();
    _thread.join();
}

ReadDeadlines::Guard ReadDeadlines::arm(int fd, Clock::time_point deadline) {
    auto fired = std::make_shared<bool>(false);
    std::uint64_t id = 0;
    bool earliest = false;
    {
        std::lock_guard lock(_mutex);
        id = _next++;
        _entries.emplace(id, Entry{fd, deadline, fired});
        _byDeadline.emplace(deadline, id);
        earliest = deadline < _wakeAt;  // the watcher would look too late
    }
    if (earliest) _changed.notify_one();
    return Guard(this, id, std::move(fired));
}

void ReadDeadlines::Guard::disarm() {
    if (!_owner) return;
    _owner->disarm(_id);
    _owner = nullptr;
}

void ReadDeadlines::disarm(std::uint64_t id) {
    std::lock_guard lock(_mutex);
    auto it = _entries.find(id);
    if (it == _entries.end()) return;  // fired already
    auto [from, to] = _byDeadline.equal_range(it->second.deadline);
    for (auto at = from; at != to; ++at)
        if (at->second == id) {
            _byDeadline.erase(at);
            break;
        }
    _entries.erase(it);
}

void ReadDeadlines::run() {
    // Deadlines are seconds long; looking once a second spares every arm()
    // a wake-up (and the connection thread a switch to this one).
    constexpr auto kLookEvery = std::chrono::seconds(1);
    std::unique_lock lock(_mutex);
    while (!_stopping) {
        const auto now = Clock::now();
        if (_byDeadline.empty() || now < _byDeadline.begin()->first) {
            _wakeAt = now + kLookEvery;
            if (!_byDeadline.empty()) _wakeAt = std::min(_wakeAt, _byDeadline.begin()->first);
            _changed.wait_until(lock, _wakeAt);
            continue;
        }
        const auto [deadline, id] = *_byDeadline.begin();
        // The guard still holds the socket open (it is disarmed before the
        // connection closes), so the descriptor is still this client's.
        auto it = _entries.find(id);
        ::shutdown(it->second.fd, SHUT_RD);
        *it->second.fired = true;
        _entries.erase(it);
        _byDeadline.erase(_byDeadline.begin());
    }
}

} // namespace sluice::kernel
