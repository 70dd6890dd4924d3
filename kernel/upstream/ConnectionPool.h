#pragma once
// Idle keep-alive connections to one backend, so steady load reuses TCP
// connections instead of opening one per request. Thread: any; the lock is
// held only to push or pop a connection.

#include <memory>
#include <mutex>
#include <vector>

#include "UpstreamConnection.h"

namespace sluice::kernel {

class ConnectionPool {
public:
    explicit ConnectionPool(std::shared_ptr<const Backend> backend);

    // An idle connection that still looks open, or nullptr.
    std::unique_ptr<UpstreamConnection> takeIdle();
    // Opens a new connection (UpstreamConnection::open, `parkVia` as there).
    // Throws UpstreamError(Connect).
    std::unique_ptr<UpstreamConnection> open(ClientChannel* parkVia = nullptr) const;
    // Keeps a connection that finished a response cleanly for the next request.
    void giveBack(std::unique_ptr<UpstreamConnection> connection);

    std::size_t idleCount() const;
    const Backend& backend() const { return *_backend; }

private:
    std::shared_ptr<const Backend> _backend;
    Poco::Net::Context::Ptr _tls;  // one per backend, for https
    mutable std::mutex _mutex;
    std::vector<std::unique_ptr<UpstreamConnection>> _idle;  // most recently used last
};

} // namespace sluice::kernel
