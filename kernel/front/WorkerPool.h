#pragma once
// The threads that serve requests once their head and body are in: stages,
// forwarding and the stream relay, which still block. Threads are made when
// work waits and none is free, up to `maxThreads`, and end after `idle`
// without work, so a burst gives its threads back. Work beyond the threads
// waits in a queue of at most `maxQueued`; past that submit() says no and the
// I/O thread answers 503 itself.
// Thread: submit() from the I/O threads; the work runs on the pool's.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>

namespace sluice::kernel {

class WorkerPool {
public:
    WorkerPool(std::size_t maxThreads, std::size_t maxQueued, std::chrono::seconds idle);
    // stop().
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // False: every thread is busy and the queue is full, no thread could be
    // made, or the pool is stopped.
    bool submit(std::function<void()> work);
    // Work that holds a connection already (the rest of a parked request,
    // net/Fiber): taken past `maxQueued`, ahead of new work. False only
    // when no thread can run it (stopped, or none could be made).
    bool resume(std::function<void()> work);

    // Runs what is queued, then waits for every thread to end. From then on
    // submit() says no; the object stays usable for those who still call it.
    void stop();

    // Threads alive, and those running work now.
    std::size_t threads() const;
    std::size_t busy() const;
    // Whether work waits for a thread.
    bool queued() const;

private:
    void work();
    bool enqueue(std::function<void()> work, bool resumed);

    const std::size_t _maxThreads;
    const std::size_t _maxQueued;
    const std::chrono::seconds _idle;
    mutable std::mutex _mutex;
    std::condition_variable _available;  // work queued, or stopping
    std::condition_variable _ended;      // a thread ended
    struct Queued {
        std::uint64_t id;
        std::function<void()> work;
    };
    std::deque<Queued> _queue;
    std::uint64_t _nextId = 0;
    std::size_t _threads = 0;
    std::size_t _waiting = 0;  // threads waiting for work
    bool _stopping = false;
};

} // namespace sluice::kernel
