#include "EventLoop.h"

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <thread>

#include <Poco/Logger.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace sluice::kernel {

namespace {
std::uint64_t currentThread() {
    const auto id = std::hash<std::thread::id>{}(std::this_thread::get_id());
    return id == 0 ? 1 : id;
}

std::atomic<int> loopsMade{0};
thread_local int runningLoop = -1;

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

// A handler that throws loses its own work, never the loop: the loop serves
// every other connection of its thread.
template <typename Work>
void guarded(Work&& work) {
    try {
        work();
    } catch (const std::exception& e) {
        Poco::Logger::get("sluice.kernel").error("an event handler failed: %s", std::string(e.what()));
    } catch (...) {
        Poco::Logger::get("sluice.kernel").error("an event handler failed");
    }
}
} // namespace

EventLoop::EventLoop() : _number(loopsMade++) {
    _epoll = ::epoll_create1(EPOLL_CLOEXEC);
    if (_epoll < 0) fail("epoll_create1");
    _wakeFd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (_wakeFd < 0) {
        ::close(_epoll);
        fail("eventfd");
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = nullptr;  // the wake-up
    if (::epoll_ctl(_epoll, EPOLL_CTL_ADD, _wakeFd, &event) != 0) {
        ::close(_wakeFd);
        ::close(_epoll);
        fail("epoll_ctl");
    }
}

EventLoop::~EventLoop() {
    ::close(_wakeFd);
    ::close(_epoll);
}

bool EventLoop::onLoopThread() const { return _thread.load(std::memory_order_relaxed) == currentThread(); }

void EventLoop::stop() {
    _stopping = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(_wakeFd, &one, sizeof one);
}

void EventLoop::post(std::function<void()> work) {
    // From the loop itself (a request served on it posts its own end): no
    // lock and no wake-up, the round's end runs it.
    if (onLoopThread()) {
        _local.push_back(std::move(work));
        return;
    }
    bool first = false;
    {
        std::lock_guard lock(_postedMutex);
        first = _posted.empty();
        _posted.push_back(std::move(work));
    }
    // One wake-up per batch: the loop takes everything posted when it wakes.
    if (first) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(_wakeFd, &one, sizeof one);
    }
}

void EventLoop::watch(int fd, std::uint32_t events, Watcher& watcher) {
    epoll_event event{};
    event.events = events;
    event.data.ptr = &watcher;
    if (::epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, &event) != 0) fail("epoll_ctl add");
    // A new watcher at the address of one gone in this round keeps the
    // round's events dropped: they were the old one's (the new descriptor
    // was not watched when the round began).
}

void EventLoop::change(int fd, std::uint32_t events, Watcher& watcher) {
    epoll_event event{};
    event.events = events;
    event.data.ptr = &watcher;
    if (::epoll_ctl(_epoll, EPOLL_CTL_MOD, fd, &event) != 0) fail("epoll_ctl mod");
}

void EventLoop::unwatch(int fd, Watcher& watcher) {
    epoll_event event{};
    ::epoll_ctl(_epoll, EPOLL_CTL_DEL, fd, &event);  // a closed descriptor is already gone
    _gone.push_back(&watcher);
}

void EventLoop::forget(Watcher& watcher) { _gone.push_back(&watcher); }

EventLoop::TimerId EventLoop::at(Clock::time_point when, std::function<void()> fire) {
    const auto id = _nextTimer++;
    const auto it = _timers.emplace(when, id);
    _timerWork.emplace(id, std::make_pair(it, std::move(fire)));
    return id;
}

void EventLoop::cancel(TimerId timer) {
    const auto it = _timerWork.find(timer);
    if (it == _timerWork.end()) return;
    _timers.erase(it->second.first);
    _timerWork.erase(it);
}

int EventLoop::waitMillis() const {
    if (!_local.empty()) return 0;
    if (_timers.empty()) return -1;
    const auto left = _timers.begin()->first - Clock::now();
    if (left <= Clock::duration::zero()) return 0;
    // Rounded up: waking a little late is harmless, waking early spins.
    const auto millis = std::chrono::ceil<std::chrono::milliseconds>(left).count();
    return static_cast<int>(std::min<decltype(millis)>(millis, 60'000));
}

void EventLoop::runTimers() {
    const auto now = Clock::now();
    while (!_timers.empty() && _timers.begin()->first <= now) {
        const auto id = _timers.begin()->second;
        _timers.erase(_timers.begin());
        auto node = _timerWork.extract(id);
        guarded(node.mapped().second);  // may arm or cancel other timers
    }
}

void EventLoop::runPosted() {
    std::vector<std::function<void()>> work;
    {
        std::lock_guard lock(_postedMutex);
        work.swap(_posted);
    }
    for (auto& item : work) guarded(item);
}

void EventLoop::runLocal() {
    // What these post runs in the next round, after the descriptors' news.
    std::vector<std::function<void()>> work;
    work.swap(_local);
    for (auto& item : work) guarded(item);
}

int EventLoop::currentNumber() { return runningLoop; }

void EventLoop::run() {
    _thread = currentThread();
    runningLoop = _number;
    constexpr int kBatch = 256;
    epoll_event events[kBatch];
    while (!_stopping) {
        const int ready = ::epoll_wait(_epoll, events, kBatch, waitMillis());
        if (ready < 0) {
            if (errno == EINTR) continue;
            fail("epoll_wait");
        }
        _gone.clear();
        bool woken = false;
        for (int i = 0; i < ready; ++i) {
            auto* watcher = static_cast<Watcher*>(events[i].data.ptr);
            if (!watcher) {
                woken = true;
                continue;
            }
            if (std::find(_gone.begin(), _gone.end(), watcher) != _gone.end()) continue;
            guarded([&] { watcher->onReady(events[i].events); });
        }
        if (woken) {
            std::uint64_t count = 0;
            [[maybe_unused]] const auto n = ::read(_wakeFd, &count, sizeof count);
            runPosted();
        }
        runTimers();
        runLocal();
    }
    // Work posted before stop() still runs, and what it posts: it may release what it holds.
    for (;;) {
        {
            std::lock_guard lock(_postedMutex);
            if (_posted.empty() && _local.empty()) break;
        }
        runPosted();
        runLocal();
    }
    runningLoop = -1;
}

} // namespace sluice::kernel
