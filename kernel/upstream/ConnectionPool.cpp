#include "ConnectionPool.h"

#include "sluice/BackendTls.h"

namespace sluice::kernel {

namespace {
// Backends (Go's net/http in Ollama among them) drop idle connections after a
// while; give them up before that rather than race the close.
constexpr auto kMaxIdle = std::chrono::seconds(50);
} // namespace

ConnectionPool::ConnectionPool(std::shared_ptr<const Backend> backend)
    : _backend(std::move(backend)), _tls(_backend->scheme == "https" ? makeBackendTlsContext(*_backend) : nullptr) {}

std::unique_ptr<UpstreamConnection> ConnectionPool::takeIdle() {
    while (true) {
        std::unique_ptr<UpstreamConnection> connection;
        {
            std::lock_guard lock(_mutex);
            if (_idle.empty()) return nullptr;
            connection = std::move(_idle.back());
            _idle.pop_back();
        }
        // Dropped outside the lock: closing a socket is a system call.
        if (Clock::now() - connection->idleSince < kMaxIdle && !connection->closedWhileIdle()) return connection;
    }
}

std::unique_ptr<UpstreamConnection> ConnectionPool::open(ClientChannel* parkVia) const {
    return UpstreamConnection::open(*_backend, _tls, parkVia);
}

void ConnectionPool::giveBack(std::unique_ptr<UpstreamConnection> connection) {
    connection->idleSince = Clock::now();
    std::lock_guard lock(_mutex);
    if (_idle.size() < static_cast<std::size_t>(_backend->maxConnections)) _idle.push_back(std::move(connection));
}

std::size_t ConnectionPool::idleCount() const {
    std::lock_guard lock(_mutex);
    return _idle.size();
}

} // namespace sluice::kernel
