#pragma once
// Idle keep-alive connections to one backend, so steady load reuses TCP
// connections instead of opening one per request.
//
// Kept per I/O thread: a request served on a loop takes a connection from,
// and gives it back to, its own loop's list, which only that loop's thread
// touches: no lock, and no cache line shared between cores on the hot path
// (as nginx keeps one pool per worker process). Stage threads (a request
// whose body came slowly, or work that left its loop) share one list under
// a lock. A connection given back on one loop is reused by that loop only.
// Thread: any.

#include <array>
#include <memory>
#include <mutex>
#include <vector>

#include "UpstreamConnection.h"

namespace sluice::kernel {

class ConnectionPool {
public:
    explicit ConnectionPool(std::shared_ptr<const Backend> backend);
    ~ConnectionPool();

    // An idle connection of the calling thread's list that still looks open, or nullptr.
    std::unique_ptr<UpstreamConnection> takeIdle();
    // Opens a new connection (UpstreamConnection::open, `parkVia` as there).
    // Throws UpstreamError(Connect).
    std::unique_ptr<UpstreamConnection> open(ClientChannel* parkVia = nullptr) const;
    // Keeps a connection that finished a response cleanly for the next
    // request on the calling thread's list (at most max_connections each).
    void giveBack(std::unique_ptr<UpstreamConnection> connection);

    const Backend& backend() const { return *_backend; }

private:
    using IdleList = std::vector<std::unique_ptr<UpstreamConnection>>;  // most recently used last
    // server.io_threads' highest value; a loop numbered past it (only in
    // tests that make many) uses the shared list.
    static constexpr std::size_t kLoopLists = 256;

    // The calling thread's list: its loop's own (made on first use, no
    // lock), or off the loops the shared one, locked while this is held.
    struct CallersList {
        IdleList& idle;
        std::unique_lock<std::mutex> lock;
    };
    CallersList callersList();

    std::shared_ptr<const Backend> _backend;
    Poco::Net::Context::Ptr _tls;  // one per backend, for https
    std::array<std::unique_ptr<IdleList>, kLoopLists> _perLoop;  // slot n: loop n's thread only
    std::mutex _sharedMutex;
    IdleList _shared;  // stage threads'; guarded by _sharedMutex
};

} // namespace sluice::kernel
