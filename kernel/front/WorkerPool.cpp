#include "WorkerPool.h"

#include <algorithm>
#include <thread>

#include <pthread.h>

#include <Poco/Logger.h>

namespace sluice::kernel {

WorkerPool::WorkerPool(std::size_t maxThreads, std::size_t maxQueued, std::chrono::seconds idle)
    : _maxThreads(maxThreads == 0 ? 1 : maxThreads), _maxQueued(maxQueued), _idle(idle) {}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::stop() {
    std::unique_lock lock(_mutex);
    _stopping = true;
    _available.notify_all();
    _ended.wait(lock, [this] { return _threads == 0; });
}

bool WorkerPool::submit(std::function<void()> work) { return enqueue(std::move(work), false); }

bool WorkerPool::resume(std::function<void()> work) { return enqueue(std::move(work), true); }

bool WorkerPool::enqueue(std::function<void()> work, bool resumed) {
    std::unique_lock lock(_mutex);
    // While stopping, threads still alive run what is queued before they
    // end: a parked request's rest may still join them.
    if (_stopping && (!resumed || _threads == 0)) return false;
    const bool spawn = !_stopping && _waiting <= _queue.size() && _threads < _maxThreads;
    if (!resumed && !spawn && _waiting <= _queue.size() && _queue.size() >= _maxQueued) return false;
    const auto id = _nextId++;
    if (resumed) _queue.push_front({id, std::move(work)});
    else _queue.push_back({id, std::move(work)});
    if (!spawn) {
        _available.notify_one();
        return true;
    }
    ++_threads;
    lock.unlock();
    try {
        std::thread(&WorkerPool::work, this).detach();
        return true;
    } catch (const std::system_error&) {
        // No thread to be had (a ulimit). The work waits for a running
        // thread, if there is one; else it is taken back (by its id: other
        // submits may have queued since) and the caller answers for it.
        lock.lock();
        --_threads;
        _ended.notify_all();
        if (_threads > 0) return true;
        const auto mine = std::find_if(_queue.begin(), _queue.end(), [id](const Queued& queued) { return queued.id == id; });
        if (mine == _queue.end()) return true;  // a thread that has since ended took it
        _queue.erase(mine);
        return false;
    }
}

std::size_t WorkerPool::threads() const {
    std::lock_guard lock(_mutex);
    return _threads;
}

bool WorkerPool::queued() const {
    std::lock_guard lock(_mutex);
    return !_queue.empty();
}

std::size_t WorkerPool::busy() const {
    std::lock_guard lock(_mutex);
    return _threads - _waiting;
}

void WorkerPool::work() {
    pthread_setname_np(pthread_self(), "sluice-work");
    std::unique_lock lock(_mutex);
    for (;;) {
        if (_queue.empty()) {
            if (_stopping) break;
            ++_waiting;
            const bool woken = _available.wait_for(lock, _idle, [this] { return !_queue.empty() || _stopping; });
            --_waiting;
            if (!woken) break;  // idle for server.idle_thread_s: give the thread back
            continue;
        }
        auto item = std::move(_queue.front().work);
        _queue.pop_front();
        lock.unlock();
        try {
            item();
        } catch (const std::exception& e) {
            Poco::Logger::get("sluice.kernel").error("a request's work failed: %s", std::string(e.what()));
        } catch (...) {
            Poco::Logger::get("sluice.kernel").error("a request's work failed");
        }
        item = nullptr;  // what it holds goes before the lock is taken again
        lock.lock();
    }
    --_threads;
    _ended.notify_all();
}

} // namespace sluice::kernel
