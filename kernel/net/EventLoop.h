#pragma once
// One epoll loop: file descriptors watched for readiness, timers, and work
// posted from other threads. An I/O thread runs one (front/IoThreads); every
// handler and timer runs on that thread, so what a loop owns needs no lock.
//
// Why our own and not Poco::Net::SocketReactor: the reactor polls with a
// fixed time-out, dispatches through notification objects (an allocation and
// a lock per event), and has no timers; a connection's deadlines would need
// a thread of their own again. This is the small part of libevent or asio
// the front needs, on the calls Linux gives (epoll, eventfd).
// Thread: run() on one thread; post(), stop() and wake() from any; the rest
// only on the loop's own thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace sluice::kernel {

class EventLoop {
public:
    using Clock = std::chrono::steady_clock;
    using TimerId = std::uint64_t;

    // What a watched descriptor calls when it is ready. Deleting a watcher
    // inside its own onReady is allowed once it was unwatched: events of the
    // same round for it are dropped.
    class Watcher {
    public:
        virtual ~Watcher() = default;
        virtual void onReady(std::uint32_t events) = 0;
    };

    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Runs handlers, timers and posted work until stop().
    void run();
    void stop();
    // Runs `work` on the loop's thread, soon: after the current handler,
    // in the order posted from one thread.
    void post(std::function<void()> work);
    bool onLoopThread() const;
    // The number of the loop running on the calling thread (from 0, in the
    // order loops were made in the process), or -1 off every loop (a stage
    // thread). Out of line on purpose: a fiber that parks may go on on
    // another thread, so no caller may keep the answer across a park.
    static int currentNumber();

    // epoll events (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLEXCLUSIVE...).
    // Level-triggered unless `events` says EPOLLET.
    void watch(int fd, std::uint32_t events, Watcher& watcher);
    void change(int fd, std::uint32_t events, Watcher& watcher);
    void unwatch(int fd, Watcher& watcher);
    // For a descriptor about to be closed, which takes it out of the set
    // itself: unwatch() without its system call. Only when no other
    // descriptor shares its open file (no dup, no fork).
    void forget(Watcher& watcher);

    // Calls `fire` once at `when` (or the first round after it).
    TimerId at(Clock::time_point when, std::function<void()> fire);
    // A timer not yet fired never fires; an unknown or fired one is ignored.
    void cancel(TimerId timer);

private:
    int waitMillis() const;
    void runTimers();
    void runPosted();
    void runLocal();

    const int _number;
    int _epoll = -1;
    int _wakeFd = -1;  // an eventfd: post() and stop() write it
    std::atomic<bool> _stopping{false};
    std::atomic<std::uint64_t> _thread{0};  // the running thread's id hash, 0 before run()

    std::mutex _postedMutex;
    std::vector<std::function<void()>> _posted;  // guarded by _postedMutex
    std::vector<std::function<void()>> _local;   // posted by the loop's own thread

    std::multimap<Clock::time_point, TimerId> _timers;
    std::unordered_map<TimerId, std::pair<std::multimap<Clock::time_point, TimerId>::iterator, std::function<void()>>> _timerWork;
    TimerId _nextTimer = 1;

    // Watchers unwatched during the current round: their later events in it are dropped.
    std::vector<Watcher*> _gone;
};

} // namespace sluice::kernel
