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
#include <Poco/Net/StreamSocketImpl.h>

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

// Waits until `fd` is ready for `what`, by `deadline`: parked when the
// request can park (on its I/O thread or a worker's fiber), else in poll(2).
void awaitReady(int fd, Await what, Clock::time_point deadline, ClientChannel* parkVia, const char* timedOut) {
    if (const auto end = parkVia ? parkVia->waitParked(fd, what, deadline) : std::nullopt) return throwUnlessReady(*end, timedOut);
    pollfd ready{fd, static_cast<short>(what == Await::Readable ? POLLIN : POLLOUT), 0};
    const int wait = millisUntil(deadline);
    if (wait == 0 || ::poll(&ready, 1, wait) == 0) throw UpstreamError(UpstreamError::Kind::Timeout, timedOut);
}

// Connects without waiting: the request parks (or polls) until the socket
// is writable, and a TLS connection's handshake then goes the same way,
// record by record, before its certificate is checked. No call here
// blocks, so a connect on an I/O thread stays there.
void connectWithoutBlocking(Poco::Net::StreamSocket& socket, const Poco::Net::SocketAddress& address,
                            Clock::time_point deadline, ClientChannel* parkVia) {
    auto* secure = dynamic_cast<Poco::Net::SecureStreamSocket*>(&socket);
    if (secure) {
        socket.connectNB(address);  // sets the TLS connection up too; the handshake is below
    } else {
        // Made non-blocking from the start: Poco's connectNB made it, then
        // asked for its flags and set them, two system calls a connection.
        const auto failed = [] {
            const int error = lastErrno();
            return Poco::Net::NetException(std::strerror(error), error);  // the code: see open()'s shortages
        };
        const int fd = ::socket(address.af(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) throw failed();
        socket = Poco::Net::StreamSocket(new Poco::Net::StreamSocketImpl(fd));  // owns it from here
        if (::connect(fd, address.addr(), address.length()) != 0 && lastErrno() != EINPROGRESS) throw failed();
    }
    const int fd = socket.impl()->sockfd();
    awaitReady(fd, Await::Writable, deadline, parkVia, "connect timed out");
    if (const int error = socket.impl()->socketError()) throw Poco::Net::NetException(std::strerror(error));
    if (!secure) return;
    for (;;) {
        const int n = secure->completeHandshake();
        if (n == 1) break;
        const auto wants = tlsWants(n);
        if (!wants) throw Poco::Net::NetException("the TLS handshake failed");
        awaitReady(fd, *wants, deadline, parkVia, "connect timed out");
    }
    // Poco checks the name itself only in the handshakes it drives.
    secure->verifyPeerCertificate();
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
    try {
        // A name's lookup blocks: off the I/O thread (a literal address needs none).
        std::optional<Poco::Net::SocketAddress> address;
        Poco::Net::IPAddress literal;
        if (Poco::Net::IPAddress::tryParse(backend.host, literal)) address.emplace(literal, backend.port);
        else if (parkVia) parkVia->offLoop([&] { address.emplace(backend.host, backend.port); });
        else address.emplace(backend.host, backend.port);
        std::unique_ptr<Poco::Net::StreamSocket> socket;
        if (tls) {
            auto secure = std::make_unique<Poco::Net::SecureStreamSocket>(tls);
            secure->setPeerHostName(backend.host);
            socket = std::move(secure);
        } else {
            socket = std::make_unique<Poco::Net::StreamSocket>();
        }
        // The socket stays non-blocking: every read and write below says
        // what it waits for, and waits parked or in poll(2).
        connectWithoutBlocking(*socket, *address, Clock::now() + backend.connectTimeout, parkVia);
        socket->setNoDelay(true);
        socket->setKeepAlive(true);
        return std::unique_ptr<UpstreamConnection>(new UpstreamConnection(std::move(socket), !tls.isNull()));
    } catch (const UpstreamError& e) {
        if (e.kind() == UpstreamError::Kind::Timeout) throw UpstreamError(UpstreamError::Kind::Connect, "connect timed out");
        throw;
    } catch (const Poco::TimeoutException&) {
        throw UpstreamError(UpstreamError::Kind::Connect, "connect timed out");
    } catch (const Poco::Exception& e) {
        // Out of descriptors or socket memory: the gateway's own shortage.
        // The backend is not to blame (no failure counted, no failover: the
        // next backend's socket would fail the same); the client gets 503.
        if (e.code() == EMFILE || e.code() == ENFILE || e.code() == ENOBUFS || e.code() == ENOMEM)
            throw UpstreamError(UpstreamError::Kind::Overloaded, "no socket for it: " + e.displayText(),
                                "the gateway has too many connections open; retry shortly");
        throw UpstreamError(UpstreamError::Kind::Connect, "connect failed: " + e.displayText());
    }
}

Transfer UpstreamConnection::trySend(std::string_view data) {
    if (_secure) {
        int n = 0;
        try {
            n = _socket->sendBytes(data.data(), static_cast<int>(data.size()));
        } catch (const Poco::Exception& e) {
            throw UpstreamError(UpstreamError::Kind::Closed, "send failed: " + e.displayText());
        }
        if (n > 0) return {static_cast<std::size_t>(n), std::nullopt};
        if (const auto wants = tlsWants(n)) return {0, wants};
        throw UpstreamError(UpstreamError::Kind::Closed, "connection closed while sending");
    }
    for (;;) {
        const auto n = ::send(fd(), data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) return {static_cast<std::size_t>(n), std::nullopt};
        const int error = n < 0 ? lastErrno() : 0;
        if (n < 0 && error == EINTR) continue;
        if (n < 0 && (error == EAGAIN || error == EWOULDBLOCK)) return {0, Await::Writable};
        throw UpstreamError(UpstreamError::Kind::Closed,
                            n == 0 ? "connection closed while sending" : std::string("send failed: ") + std::strerror(error));
    }
}

Transfer UpstreamConnection::tryRead(char* buffer, std::size_t capacity) {
    if (_secure) {
        int n = 0;
        try {
            n = _socket->receiveBytes(buffer, static_cast<int>(capacity));
        } catch (const Poco::Exception& e) {
            throw UpstreamError(UpstreamError::Kind::Closed, "read failed: " + e.displayText());
        }
        if (n >= 0) return {static_cast<std::size_t>(n), std::nullopt};
        if (const auto wants = tlsWants(n)) return {0, wants};
        throw UpstreamError(UpstreamError::Kind::Closed, "read failed");
    }
    for (;;) {
        const auto n = ::recv(fd(), buffer, capacity, MSG_DONTWAIT);
        if (n >= 0) return {static_cast<std::size_t>(n), std::nullopt};
        const int error = lastErrno();
        if (error == EINTR) continue;
        if (error == EAGAIN || error == EWOULDBLOCK) return {0, Await::Readable};
        throw UpstreamError(UpstreamError::Kind::Closed, std::string("read failed: ") + std::strerror(error));
    }
}

// Sends without waiting, plain or TLS, waiting (parked, or in poll(2)) only
// for what a send that did not go on wants: so a request costs one send(2)
// and no setsockopt(2) for a time-out that changes with every deadline.
// A TLS send that waited is tried again with the same bytes, as OpenSSL requires.
void UpstreamConnection::sendAll(std::string_view data, Clock::time_point deadline, ClientChannel* parkVia) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const auto done = trySend(data.substr(sent));
        if (done.waitsFor) awaitReady(fd(), *done.waitsFor, deadline, parkVia, "timed out sending the request");
        sent += done.bytes;
    }
}

// On the I/O thread: what is there, else the request parks until the
// backend's socket is ready (the loop watches the client and the drain too).
std::size_t UpstreamConnection::readParked(char* buffer, std::size_t capacity, Clock::time_point deadline,
                                           ClientChannel& parkVia) {
    for (;;) {
        const auto done = tryRead(buffer, capacity);
        if (!done.waitsFor) return done.bytes;
        const auto end = parkVia.waitParked(fd(), *done.waitsFor, deadline);
        if (!end) return readSome(buffer, capacity, deadline, parkVia.socketFd());  // cannot park: wait here
        throwUnlessReady(*end, "upstream timed out");
    }
}

std::size_t UpstreamConnection::readSome(char* buffer, std::size_t capacity, Clock::time_point deadline, int clientFd,
                                         ClientChannel* parkVia) {
    if (parkVia && parkVia->servedOnLoop()) return readParked(buffer, capacity, deadline, *parkVia);
    // What is there first: bytes already here win over a hang-up seen at
    // the same time, and TLS may hold decrypted bytes no descriptor shows.
    for (;;) {
        const auto done = tryRead(buffer, capacity);
        if (!done.waitsFor) return done.bytes;
        // Most answers come within a moment: waited for here, they cost
        // no trip through the I/O thread; a longer wait parks the request.
        const auto waitUntil = parkVia ? std::min(deadline, Clock::now() + kParkAfter) : deadline;
        // A client that shuts down its sending side is taken as gone, as
        // nginx does by default: HTTP clients close fully when they cancel.
        // A negative fd is skipped by poll: no client socket, or no drain eventfd.
        const short wanted = *done.waitsFor == Await::Readable ? POLLIN : POLLOUT;
        pollfd fds[3] = {{fd(), wanted, 0}, {clientFd, POLLRDHUP, 0}, {drain::fd(), POLLIN, 0}};
        const int ready = ::poll(fds, 3, millisUntil(waitUntil));
        if (ready < 0 && lastErrno() != EINTR) throw UpstreamError(UpstreamError::Kind::Closed, "poll failed");
        if (ready > 0 && fds[0].revents != 0) continue;
        if (ready > 0 && clientFd >= 0 && (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
            throw UpstreamError(UpstreamError::Kind::ClientGone, "client went away");
        if (ready > 0 && fds[2].revents != 0) throw UpstreamError(UpstreamError::Kind::Draining, "the gateway is shutting down");
        if (Clock::now() >= deadline) throw UpstreamError(UpstreamError::Kind::Timeout, "upstream timed out");
        if (!parkVia || ready != 0) continue;
        const auto end = parkVia->waitParked(fd(), *done.waitsFor, deadline);
        if (!end) parkVia = nullptr;  // it cannot park: wait here
        else throwUnlessReady(*end, "upstream timed out");  // Ready: the next read finds it
    }
}

std::optional<std::size_t> UpstreamConnection::readNow(char* buffer, std::size_t capacity) {
    const auto done = tryRead(buffer, capacity);
    if (done.waitsFor) return std::nullopt;
    return done.bytes;
}

int UpstreamConnection::fd() const { return _socket->impl()->sockfd(); }

bool UpstreamConnection::closedWhileIdle() {
    pollfd ready{fd(), POLLIN, 0};
    return ::poll(&ready, 1, 0) != 0;
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
