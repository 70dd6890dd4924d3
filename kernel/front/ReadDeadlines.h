#pragma once
// Whole-read deadlines for client sockets. A socket's receive time-out bounds
// each read, so a client that sends one byte every few seconds (slowloris)
// would keep a connection thread for as long as it likes. Armed for a
// request's head (server.header_timeout_s) and for its body
// (server.body_timeout_s), a deadline that passes shuts the socket's reading
// side: the blocked read returns at once, the connection answers 408 (its
// writing side still works) and closes. One thread watches every deadline.
// It looks at least once a second, so arming a deadline further off than
// that wakes nobody: a request costs a lock, never a thread switch.
// Thread: arm() and the guard's destructor from connection threads.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace sluice::kernel {

class ReadDeadlines {
public:
    using Clock = std::chrono::steady_clock;

    // The process's watcher, started on first use.
    static ReadDeadlines& instance();
    ~ReadDeadlines();

    class Guard {
    public:
        Guard() = default;
        Guard(Guard&& other) noexcept : _owner(other._owner), _id(other._id), _fired(std::move(other._fired)) { other._owner = nullptr; }
        Guard& operator=(Guard&&) = delete;
        ~Guard() { disarm(); }
        // Disarmed from now on; the socket is left as it is.
        void disarm();
        // Whether the deadline passed and the reading side was shut.
        bool fired() const { return _fired && *_fired; }

    private:
        friend class ReadDeadlines;
        Guard(ReadDeadlines* owner, std::uint64_t id, std::shared_ptr<bool> fired)
            : _owner(owner), _id(id), _fired(std::move(fired)) {}
        ReadDeadlines* _owner = nullptr;
        std::uint64_t _id = 0;
        std::shared_ptr<bool> _fired;  // written under the owner's mutex, read after disarm()
    };

    // Watches `fd` until the guard goes; past `deadline` its reading side is shut.
    [[nodiscard]] Guard arm(int fd, Clock::time_point deadline);

private:
    ReadDeadlines();
    void run();
    void disarm(std::uint64_t id);

    struct Entry {
        int fd;
        Clock::time_point deadline;
        std::shared_ptr<bool> fired;
    };
    std::mutex _mutex;
    std::condition_variable _changed;
    std::map<std::uint64_t, Entry> _entries;                    // guarded by _mutex
    std::multimap<Clock::time_point, std::uint64_t> _byDeadline;  // guarded by _mutex
    std::uint64_t _next = 1;
    Clock::time_point _wakeAt;  // when the watcher looks next; guarded by _mutex
    bool _stopping = false;
    std::thread _thread;
};

} // namespace sluice::kernel
