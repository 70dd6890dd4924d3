#include "UpstreamConnection.h"

#include <cerrno>
#include <cstring>

#include <poll.h>

#include <sys/socket.h>

#include <Poco/Net/Context.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "UpstreamError.h"
#include "net/DrainDeadline.h"
#include "net/Errno.h"

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

// A parked wait's end other than Ready, as the error the caller's failover knows.
void throwUnlessReady(WaitEnd end, const char* timedOut) {
    switch (end) {
    case WaitEnd::Ready: return;
    case WaitEnd::Timeout: throw UpstreamError(UpstreamError::Kind::Timeout, timedOut);
    case WaitEnd::ClientGone: throw UpstreamError(UpstreamError::Kind::ClientGone, "client went away");
    case WaitEnd::Draining: throw UpstreamError(UpstreamError::Kind::Draining, "the gateway is shutting down");
    }
}

// A plain connect on the I/O thread: started without waiting, and the
// request parks until the socket is writable (connected or failed).
void connectParked(Poco::Net::StreamSocket& socket, const Poco::Net::SocketAddress& address, Clock::time_point deadline,
                   ClientChannel& parkVia) {
    socket.connectNB(address);
    socket.setBlocking(true);  // the connection's reads and writes say MSG_DONTWAIT when they must not wait
    if (const auto end = parkVia.waitParked(socket.impl()->sockfd(), Await::Writable, deadline)) {
        throwUnlessReady(*end, "connect timed out");
    } else {  // cannot park after all: wait here
        pollfd out{socket.impl()->sockfd(), POLLOUT, 0};
        if (::poll(&out, 1, millisUntil(deadline)) == 0) throw Poco::TimeoutException();
    }
    if (const int error = socket.impl()->socketError()) throw Poco::Net::NetException(std::strerror(error));
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

std::unique_ptr<UpstreamConnection> UpstreamConnection::open(const Backend& backend, const Poco::Net::Context::Ptr& tls,
                                                             ClientChannel* parkVia) {
    const bool onLoop = parkVia && parkVia->servedOnLoop();
    Poco::Net::IPAddress literal;
    if (onLoop && (tls || !Poco::Net::IPAddress::tryParse(backend.host, literal))) {
        // A name's lookup and a TLS handshake block: off the I/O thread.
        std::unique_ptr<UpstreamConnection> opened;
        parkVia->offLoop([&] { opened = open(backend, tls); });
        return opened;
    }
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
            if (onLoop) connectParked(*socket, address, Clock::now() + backend.connectTimeout, *parkVia);
            else socket->connect(address, timeout);
        }
        socket->setNoDelay(true);
        socket->setKeepAlive(true);
        return std::unique_ptr<UpstreamConnection>(new UpstreamConnection(std::move(socket), !tls.isNull()));
    } catch (const UpstreamError& e) {
        if (e.kind() == UpstreamError::Kind::Timeout) throw UpstreamError(UpstreamError::Kind::Connect, "connect timed out");
        throw;
    } catch (const Poco::TimeoutException&) {
        throw UpstreamError(UpstreamError::Kind::Connect, "connect timed out");
    } catch (const Poco::Exception& e) {
        throw UpstreamError(UpstreamError::Kind::Connect, "connect failed: " + e.displayText());
    }
}

void UpstreamConnection::sendAll(std::string_view data, Clock::time_point deadline, ClientChannel* parkVia) {
    if (!_secure) return sendPlain(data, deadline, parkVia);
    if (parkVia && parkVia->servedOnLoop()) return parkVia->offLoop([&] { sendAll(data, deadline); });  // TLS blocks
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

// Plain TCP: non-blocking sends, waiting (parked, or in poll(2)) only when
// the socket's buffer is full, so a request costs one send(2) and no
// setsockopt(2) for a time-out that changes with every deadline.
void UpstreamConnection::sendPlain(std::string_view data, Clock::time_point deadline, ClientChannel* parkVia) {
    const int fd = _socket->impl()->sockfd();
    std::size_t sent = 0;
    while (sent < data.size()) {
        const auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        const int error = n < 0 ? lastErrno() : 0;
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && error == EINTR) continue;
        if (n < 0 && (error == EAGAIN || error == EWOULDBLOCK)) {
            if (const auto end = parkVia ? parkVia->waitParked(fd, Await::Writable, deadline) : std::nullopt) {
                throwUnlessReady(*end, "timed out sending the request");
                continue;
            }
            pollfd out{fd, POLLOUT, 0};
            const int wait = millisUntil(deadline);
            if (wait == 0 || ::poll(&out, 1, wait) == 0)
                throw UpstreamError(UpstreamError::Kind::Timeout, "timed out sending the request");
            continue;
        }
        throw UpstreamError(UpstreamError::Kind::Closed,
                            n == 0 ? "connection closed while sending" : std::string("send failed: ") + std::strerror(error));
    }
}

// On the I/O thread: what is there, else the request parks until the
// backend's socket is readable (the loop watches the client and the drain too).
std::size_t UpstreamConnection::readParked(char* buffer, std::size_t capacity, Clock::time_point deadline,
                                           ClientChannel& parkVia) {
    for (;;) {
        if (const auto n = readNow(buffer, capacity)) return *n;
        const auto end = parkVia.waitParked(fd(), Await::Readable, deadline);
        if (!end) return readSome(buffer, capacity, deadline, parkVia.socketFd());  // cannot park: wait here
        throwUnlessReady(*end, "upstream timed out");
    }
}

std::size_t UpstreamConnection::readSome(char* buffer, std::size_t capacity, Clock::time_point deadline, int clientFd,
                                         ClientChannel* parkVia) {
    if (parkVia && parkVia->servedOnLoop()) {
        if (!_secure) return readParked(buffer, capacity, deadline, *parkVia);
        std::size_t n = 0;  // TLS records are read blocking: off the I/O thread
        parkVia->offLoop([&] { n = readSome(buffer, capacity, deadline, clientFd, parkVia); });
        return n;
    }
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
            if (ready < 0 && lastErrno() != EINTR) throw UpstreamError(UpstreamError::Kind::Closed, "poll failed");
            // Bytes that are already here win over a hang-up seen at the same time.
            if (ready > 0 && fds[0].revents != 0) break;
            if (ready > 0 && clientFd >= 0 && (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
                throw UpstreamError(UpstreamError::Kind::ClientGone, "client went away");
            if (ready > 0 && fds[2].revents != 0)
                throw UpstreamError(UpstreamError::Kind::Draining, "the gateway is shutting down");
            if (Clock::now() >= deadline) throw UpstreamError(UpstreamError::Kind::Timeout, "upstream timed out");
            if (!parkVia || ready != 0) continue;
            const auto end = parkVia->waitParked(_socket->impl()->sockfd(), Await::Readable, deadline);
            if (!end) parkVia = nullptr;  // it cannot park: wait here
            else throwUnlessReady(*end, "upstream timed out");  // Ready: the next poll sees it
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
        const int error = lastErrno();
        if (error == EINTR) continue;
        if (error == EAGAIN || error == EWOULDBLOCK) return std::nullopt;
        throw UpstreamError(UpstreamError::Kind::Closed, std::string("read failed: ") + std::strerror(error));
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
