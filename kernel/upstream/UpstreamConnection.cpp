#include "UpstreamConnection.h"

#include <cerrno>
#include <cstring>

#include <poll.h>

#include "net/DrainDeadline.h"
#include <sys/socket.h>

#include <Poco/Net/Context.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "UpstreamError.h"

namespace sluice::kernel {

namespace {

// How long a worker waits for a backend itself before parking the request
// (docs/architecture.md, "Decision: threading model").
constexpr auto kParkAfter = std::chrono::milliseconds(20);

// Milliseconds left until `deadline`, rounded up so a wait never ends early
// and spins on a zero timeout.
int millisUntil(Clock::time_point deadline) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1000LL * 3600));
}
} // namespace

UpstreamConnection::UpstreamConnection(std::unique_ptr<Poco::Net::StreamSocket> socket, bool secure)
    : idleSince(Clock::now()), _socket(std::move(socket)), _secure(secure) {}

UpstreamConnection::~UpstreamConnection() {
    try {
        _socket->close();
    } catch (...) {
        // Closing a broken socket may throw; nothing is left to do with it.
    }
}

std::unique_ptr<UpstreamConnection> UpstreamConnection::open(const Backend& backend, const Poco::Net::Context::Ptr& tls) {
    try {
        Poco::Net::SocketAddress address(backend.host, backend.port);
        const Poco::Timespan timeout(std::chrono::duration_cast<std::chrono::microseconds>(backend.connectTimeout).count());
        std::unique_ptr<Poco::Net::StreamSocket> socket;
        if (tls) {
            auto secure = std::make_unique<Poco::Net::SecureStreamSocket>(tls);
            secure->setPeerHostName(backend.host);
            secure->connect(address, timeout);
            socket = std::move(secure);
        } else {
            socket = std::make_unique<Poco::Net::StreamSocket>();
            socket->connect(address, timeout);
        }
        socket->setNoDelay(true);
        socket->setKeepAlive(true);
        return std::unique_ptr<UpstreamConnection>(new UpstreamConnection(std::move(socket), !tls.isNull()));
    } catch (const Poco::TimeoutException&) {
        throw UpstreamError(UpstreamError::Kind::Connect, "connect timed out");
    } catch (const Poco::Exception& e) {
        throw UpstreamError(UpstreamError::Kind::Connect, "connect failed: " + e.displayText());
    }
}

void UpstreamConnection::sendAll(std::string_view data, Clock::time_point deadline) {
    if (!_secure) return sendPlain(data, deadline);
    try {
        _socket->setSendTimeout(Poco::Timespan(std::max(1, millisUntil(deadline)) * 1000LL));
        std::size_t sent = 0;
        while (sent < data.size()) {
            const int n = _socket->sendBytes(data.data() + sent, static_cast<int>(data.size() - sent), MSG_NOSIGNAL);
            if (n <= 0) throw UpstreamError(UpstreamError::Kind::Closed, "connection closed while sending");
            sent += static_cast<std::size_t>(n);
        }
    } catch (const Poco::TimeoutException&) {
        throw UpstreamError(UpstreamError::Kind::Timeout, "timed out sending the request");
    } catch (const Poco::Exception& e) {
        throw UpstreamError(UpstreamError::Kind::Closed, "send failed: " + e.displayText());
    }
}

// Plain TCP: non-blocking sends, waiting in poll(2) only when the socket's
// buffer is full, so a request costs one send(2) and no setsockopt(2) for a
// time-out that changes with every deadline.
void UpstreamConnection::sendPlain(std::string_view data, Clock::time_point deadline) {
    const int fd = _socket->impl()->sockfd();
    std::size_t sent = 0;
    while (sent < data.size()) {
        const auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd out{fd, POLLOUT, 0};
            const int wait = millisUntil(deadline);
            if (wait == 0 || ::poll(&out, 1, wait) == 0)
                throw UpstreamError(UpstreamError::Kind::Timeout, "timed out sending the request");
            continue;
        }
        throw UpstreamError(UpstreamError::Kind::Closed,
                            n == 0 ? "connection closed while sending" : std::string("send failed: ") + std::strerror(errno));
    }
}

std::size_t UpstreamConnection::readSome(char* buffer, std::size_t capacity, Clock::time_point deadline, int clientFd,
                                         ClientChannel* parkVia) {
    try {
        // TLS may hold decrypted bytes the kernel's socket does not show;
        // a plain socket's bytes are seen by poll itself (no FIONREAD first).
        while (!_secure || _socket->available() <= 0) {
            // Most answers come within a moment: waited for here, they cost
            // no trip through the I/O thread; a longer wait parks the request.
            const auto waitUntil = parkVia ? std::min(deadline, Clock::now() + kParkAfter) : deadline;
            // A client that shuts down its sending side is taken as gone, as
            // nginx does by default: HTTP clients close fully when they cancel.
            // A negative fd is skipped by poll: no client socket, or no drain eventfd.
            pollfd fds[3] = {{_socket->impl()->sockfd(), POLLIN, 0}, {clientFd, POLLRDHUP, 0}, {drain::fd(), POLLIN, 0}};
            const int ready = ::poll(fds, 3, millisUntil(waitUntil));
            if (ready < 0 && errno != EINTR) throw UpstreamError(UpstreamError::Kind::Closed, "poll failed");
            // Bytes that are already here win over a hang-up seen at the same time.
            if (ready > 0 && fds[0].revents != 0) break;
            if (ready > 0 && clientFd >= 0 && (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
                throw UpstreamError(UpstreamError::Kind::ClientGone, "client went away");
            if (ready > 0 && fds[2].revents != 0)
                throw UpstreamError(UpstreamError::Kind::Draining, "the gateway is shutting down");
            if (Clock::now() >= deadline) throw UpstreamError(UpstreamError::Kind::Timeout, "upstream timed out");
            if (!parkVia || ready != 0) continue;
            const auto end = parkVia->waitParked(_socket->impl()->sockfd(), deadline);
            if (!end) parkVia = nullptr;  // it cannot park: wait here
            else if (*end == WaitEnd::Timeout) throw UpstreamError(UpstreamError::Kind::Timeout, "upstream timed out");
            else if (*end == WaitEnd::ClientGone) throw UpstreamError(UpstreamError::Kind::ClientGone, "client went away");
            else if (*end == WaitEnd::Draining) throw UpstreamError(UpstreamError::Kind::Draining, "the gateway is shutting down");
            // Ready: the next poll sees it.
        }
        // A readable TLS socket may hold only part of a record: bound the wait
        // inside SSL_read by the same deadline.
        if (_secure) _socket->setReceiveTimeout(Poco::Timespan(std::max(1, millisUntil(deadline)) * 1000LL));
        const int n = _socket->receiveBytes(buffer, static_cast<int>(capacity));
        return n < 0 ? 0 : static_cast<std::size_t>(n);
    } catch (const UpstreamError&) {
        throw;
    } catch (const Poco::TimeoutException&) {
        throw UpstreamError(UpstreamError::Kind::Timeout, "upstream timed out");
    } catch (const Poco::Exception& e) {
        throw UpstreamError(UpstreamError::Kind::Closed, "read failed: " + e.displayText());
    }
}

std::optional<std::size_t> UpstreamConnection::readNow(char* buffer, std::size_t capacity) {
    for (;;) {
        const auto n = ::recv(fd(), buffer, capacity, MSG_DONTWAIT);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
        throw UpstreamError(UpstreamError::Kind::Closed, std::string("read failed: ") + std::strerror(errno));
    }
}

int UpstreamConnection::fd() const { return _socket->impl()->sockfd(); }

bool UpstreamConnection::closedWhileIdle() {
    pollfd fd{_socket->impl()->sockfd(), POLLIN, 0};
    return ::poll(&fd, 1, 0) != 0;
}

void UpstreamConnection::abort() {
    try {
        _socket->setLinger(true, 0);
        _socket->close();
    } catch (...) {
        // Already broken: the close is what we wanted anyway.
    }
}

} // namespace sluice::kernel
