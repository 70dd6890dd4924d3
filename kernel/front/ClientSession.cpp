#include "ClientSession.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <sys/socket.h>

#include <Poco/Exception.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>

#include "../http/Transfer.h"
#include "../net/Errno.h"
#include "ServerRequest.h"

namespace sluice::kernel {

ClientSession::ClientSession(const Poco::Net::StreamSocket& socket, const Poco::Net::HTTPServerParams::Ptr& params,
                             ParkedRelays* parking, std::chrono::seconds writeTimeout)
    : HTTPServerSession(socket, params), _keepAlive(params->getKeepAlive()), _parking(parking), _writeTimeout(writeTimeout) {}

void ClientSession::begin(std::string received) {
    _received = std::move(received);
    _receivedAt = 0;
    setKeepAlive(_keepAlive);  // a refusal of the last request turned it off
}

ClientSession::~ClientSession() {
    try {
        detachSocket();
    } catch (...) {
    }
}

int ClientSession::read(char* buffer, std::streamsize length) {
    if (_receivedAt < _received.size()) {
        const auto n = std::min<std::size_t>(static_cast<std::size_t>(length), _received.size() - _receivedAt);
        std::memcpy(buffer, _received.data() + _receivedAt, n);
        _receivedAt += n;
        return static_cast<int>(n);
    }
    if (buffered() > 0 || !onLoop()) return HTTPServerSession::read(buffer, length);
    return receiveParked(buffer, static_cast<std::size_t>(length));
}

bool ClientSession::onLoop() const { return _parking && _parking->servedOnLoop(); }

bool ClientSession::receiveMore() {
    constexpr std::size_t kStep = 16384;
    _received.resize(kStep);
    _receivedAt = 0;
    const auto n = receiveParked(_received.data(), kStep);
    _received.resize(static_cast<std::size_t>(n));
    return n > 0;
}

namespace {
// Errors of the plain calls as Poco's TLS ones report them: an exception.
[[noreturn]] void throwBroken(int error) { throw Poco::Net::ConnectionResetException(std::strerror(error)); }

Transfer tlsTransfer(int n) {
    if (const auto wants = tlsWants(n)) return {0, wants};
    if (n < 0) throw Poco::Net::ConnectionResetException("the TLS connection broke");
    return {static_cast<std::size_t>(n), std::nullopt};
}

Transfer receiveNow(Poco::Net::StreamSocket& socket, char* buffer, std::size_t length) {
    if (socket.secure()) return tlsTransfer(socket.receiveBytes(buffer, static_cast<int>(length)));
    for (;;) {
        const auto n = ::recv(socket.impl()->sockfd(), buffer, length, MSG_DONTWAIT);
        if (n >= 0) return {static_cast<std::size_t>(n), std::nullopt};
        const int error = lastErrno();
        if (error == EAGAIN || error == EWOULDBLOCK) return {0, Await::Readable};
        if (error != EINTR) throwBroken(error);
    }
}

Transfer sendNow(Poco::Net::StreamSocket& socket, const char* buffer, std::size_t length) {
    if (socket.secure()) return tlsTransfer(socket.sendBytes(buffer, static_cast<int>(length)));
    for (;;) {
        const auto n = ::send(socket.impl()->sockfd(), buffer, length, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) return {static_cast<std::size_t>(n), std::nullopt};
        if (n == 0) throw Poco::Net::ConnectionResetException("the client is gone");
        const int error = lastErrno();
        if (error == EAGAIN || error == EWOULDBLOCK) return {0, Await::Writable};
        if (error != EINTR) throwBroken(error);
    }
}
} // namespace

int ClientSession::receiveParked(char* buffer, std::size_t length) {
    const int fd = socket().impl()->sockfd();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(getTimeout().totalMicroseconds());
    for (;;) {
        const auto done = receiveNow(socket(), buffer, length);
        if (!done.waitsFor) return static_cast<int>(done.bytes);
        const auto end = _parking->waitParked(fd, *done.waitsFor, deadline);
        if (!end || *end == WaitEnd::Timeout) throw Poco::TimeoutException("the client sent nothing in time");
        if (*end == WaitEnd::Draining) throw Poco::Net::NetException("the gateway is shutting down");
        // Ready, or the client hung up: the next receive says which.
    }
}

int ClientSession::write(const char* buffer, std::streamsize length) {
    // A worker's TLS socket blocks (its waits bounded by the socket's send
    // time-out); a plain socket is written without waiting by both.
    if (!_parking || (socket().secure() && !onLoop())) return HTTPServerSession::write(buffer, length);
    const int fd = socket().impl()->sockfd();
    const auto size = static_cast<std::size_t>(length);
    std::size_t sent = 0;
    std::optional<std::chrono::steady_clock::time_point> deadline;  // server.write_timeout_s without progress
    while (sent < size) {
        // Under TLS a send that must wait is tried again with the same bytes, as OpenSSL requires.
        const auto done = sendNow(socket(), buffer + sent, size - sent);
        if (!done.waitsFor) {
            sent += done.bytes;
            deadline.reset();
            continue;
        }
        if (!deadline) deadline = std::chrono::steady_clock::now() + _writeTimeout;
        const auto end = _parking->waitParked(fd, *done.waitsFor, *deadline);
        if (!end) {
            // No fiber to park (a worker's request without one): the blocking
            // write, bound by the socket's send time-out, does the rest.
            return static_cast<int>(sent) + HTTPServerSession::write(buffer + sent, static_cast<std::streamsize>(size - sent));
        }
        if (*end == WaitEnd::Timeout) throw Poco::TimeoutException("the client took no byte of its answer in time");
        if (*end == WaitEnd::Draining) throw Poco::Net::NetException("the gateway is shutting down");
        // Ready, or the client hung up: the next send says which.
    }
    return static_cast<int>(size);
}

std::string ClientSession::takeUnread() {
    std::string unread = _received.substr(_receivedAt);
    // Let go, not cleared: the session lives as long as its connection, and
    // an idle connection keeps no buffer (a cleared string keeps its
    // memory: a 250 KB prompt's, for as long as the client stays idle).
    std::string().swap(_received);
    _receivedAt = 0;
    // Poco's buffer: read() serves it before touching the socket.
    while (buffered() > 0) {
        char chunk[4096];
        const int n = HTTPServerSession::read(chunk, std::min<int>(buffered(), static_cast<int>(sizeof chunk)));
        if (n <= 0) break;
        unread.append(chunk, static_cast<std::size_t>(n));
    }
    return unread;
}

} // namespace sluice::kernel
