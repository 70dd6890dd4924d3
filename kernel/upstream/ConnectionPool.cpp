#include "ConnectionPool.h"

#include "net/EventLoop.h"
#include "sluice/BackendTls.h"

namespace sluice::kernel {

namespace {
// Backends (Go's net/http in Ollama among them) drop idle connections after a
// while; give them up before that rather than race the close.
constexpr auto kMaxIdle = std::chrono::seconds(50);
// A connection given back less than this long ago is taken without a look
// (a poll(2), at every request under load): a backend that closed it since
// is found by the request's first read, before any answer byte, and the
// forwarder tries once more on a fresh connection (Attempt's stale-connection
// retry), as it does when the look and the close cross. nginx and Envoy keep
// idle connections in their event loops and so never look either.
constexpr auto kLookAfter = std::chrono::seconds(1);
} // namespace

ConnectionPool::ConnectionPool(std::shared_ptr<const Backend> backend)
    : _backend(std::move(backend)), _tls(_backend->scheme == "https" ? makeBackendTlsContext(*_backend) : nullptr) {}

// Out of line: UpstreamConnection's destructor closes sockets.
ConnectionPool::~ConnectionPool() = default;

ConnectionPool::CallersList ConnectionPool::callersList() {
    const int loop = EventLoop::currentNumber();
    if (loop < 0 || static_cast<std::size_t>(loop) >= kLoopLists) return {_shared, std::unique_lock(_sharedMutex)};
    auto& list = _perLoop[static_cast<std::size_t>(loop)];
    if (!list) list = std::make_unique<IdleList>();
    return {*list, {}};
}

std::unique_ptr<UpstreamConnection> ConnectionPool::takeIdle() {
    while (true) {
        std::unique_ptr<UpstreamConnection> connection;
        {
            auto [idle, lock] = callersList();
            if (idle.empty()) return nullptr;
            connection = std::move(idle.back());
            idle.pop_back();
        }
        // Dropped outside the lock: closing a socket is a system call.
        const auto idleFor = Clock::now() - connection->idleSince;
        if (idleFor < kMaxIdle && (idleFor < kLookAfter || !connection->closedWhileIdle())) return connection;
    }
}

std::unique_ptr<UpstreamConnection> ConnectionPool::open(ClientChannel* parkVia) const {
    return UpstreamConnection::open(*_backend, _tls, parkVia);
}

void ConnectionPool::giveBack(std::unique_ptr<UpstreamConnection> connection) {
    connection->idleSince = Clock::now();
    auto [idle, lock] = callersList();
    // One past the bound is closed after the lock is let go, as the parameter goes.
    if (idle.size() < static_cast<std::size_t>(_backend->maxConnections)) idle.push_back(std::move(connection));
}

} // namespace sluice::kernel
