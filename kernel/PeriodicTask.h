#pragma once
// Runs a function every `interval` on its own thread until stopped. stop()
// wakes the thread at once, so shutting down never waits out an interval;
// it does wait for a run in progress to end.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <Poco/Logger.h>

namespace sluice::kernel {

class PeriodicTask {
public:
    PeriodicTask() = default;
    ~PeriodicTask() { stop(); }
    PeriodicTask(const PeriodicTask&) = delete;
    PeriodicTask& operator=(const PeriodicTask&) = delete;

    // The first run is one interval from now. Call once.
    void start(std::chrono::milliseconds interval, std::function<void()> work) {
        _thread = std::thread([this, interval, work = std::move(work)] {
            std::unique_lock lock(_mutex);
            while (!_wake.wait_for(lock, interval, [this] { return _stopping; })) {
                lock.unlock();
                try {
                    work();
                } catch (const std::exception& e) {
                    // One failed round (no thread to start, a bad answer) must not end the task.
                    Poco::Logger::get("sluice.kernel").error("background task failed: %s", std::string(e.what()));
                }
                lock.lock();
            }
        });
    }

    void stop() {
        {
            std::lock_guard lock(_mutex);
            _stopping = true;
        }
        _wake.notify_all();
        if (_thread.joinable()) _thread.join();
    }

private:
    std::mutex _mutex;
    std::condition_variable _wake;
    bool _stopping = false;
    std::thread _thread;
};

} // namespace sluice::kernel
