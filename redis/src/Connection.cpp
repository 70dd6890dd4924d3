#include "Connection.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>

#include "Resp.h"
#include "sluice/redis/RedisError.h"

namespace sluice::redis::detail {

namespace {
// How often a wait looks at the stop token: the bound on Subscriber::stop().
constexpr auto stopCheckInterval = std::chrono::milliseconds(100);
} // namespace

Connection::Connection(const RedisUrl& url, std::chrono::milliseconds timeout, Clock::time_point deadline,
                       std::stop_token stop)
    : _where("Redis " + (url.host.find(':') == std::string::npos ? url.host : "[" + url.host + "]") + ":" +
             std::to_string(url.port)),
      _timeout(timeout),
      _stop(std::move(stop)) {
    connect(url, deadline);
    if (!url.password.empty()) {
        std::vector<std::string> auth{"AUTH"};
        if (!url.user.empty()) auth.push_back(url.user);
        auth.push_back(url.password);
        const auto reply = call(auth, deadline);
        // Redis's own message ("WRONGPASS invalid username-password pair ...") never repeats the password.
        if (reply.isError()) throw RedisError(RedisError::Kind::Reply, _where + ": AUTH refused: " + reply.error());
    }
    if (url.database != 0) {
        const auto reply = call({"SELECT", std::to_string(url.database)}, deadline);
        if (reply.isError())
            throw RedisError(RedisError::Kind::Reply,
                             _where + ": SELECT " + std::to_string(url.database) + " refused: " + reply.error());
    }
}

void Connection::connect(const RedisUrl& url, Clock::time_point deadline) {
    try {
        const Poco::Net::SocketAddress address(url.host, static_cast<Poco::UInt16>(url.port));
        _socket = Poco::Net::StreamSocket(address.family());
        // Child processes (a test's redis-server, a helper the gateway runs)
        // must not inherit the socket: a copy would keep it open after we close it.
        ::fcntl(_socket.impl()->sockfd(), F_SETFD, FD_CLOEXEC);
        _socket.connectNB(address);
        if (!waitFor(POLLOUT, deadline)) timedOut("connecting");
        const int error = _socket.impl()->socketError();
        if (error != 0)
            throw RedisError(RedisError::Kind::Connection, _where + ": cannot connect: " + std::strerror(error));
        _socket.setNoDelay(true);
        _socket.setKeepAlive(true);
    } catch (const Poco::Exception& e) {
        throw RedisError(RedisError::Kind::Connection, _where + ": cannot connect: " + e.displayText());
    }
}

bool Connection::waitFor(short events, Clock::time_point until) {
    pollfd fd{_socket.impl()->sockfd(), events, 0};
    while (true) {
        if (_stop.stop_requested()) throw RedisError(RedisError::Kind::Connection, _where + ": stopped");
        // Rounded up, so a wait does not end a little early and spin.
        auto wait = std::max(std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()), std::chrono::milliseconds(0));
        if (_stop.stop_possible()) wait = std::min(wait, stopCheckInterval);
        const int ready = ::poll(&fd, 1, static_cast<int>(wait.count()));
        if (ready > 0) return true;  // the events, or POLLERR / POLLHUP: the read or write that follows says which
        if (ready < 0 && errno != EINTR)
            throw RedisError(RedisError::Kind::Connection, _where + ": poll failed: " + std::strerror(errno));
        if (Clock::now() >= until) return false;
    }
}

void Connection::send(const std::vector<std::string>& args, Clock::time_point deadline) {
    const auto data = encodeCommand(args);
    const auto& command = args.empty() ? std::string("command") : args.front();
    std::size_t sent = 0;
    while (sent < data.size()) {
        if (!waitFor(POLLOUT, deadline)) timedOut("sending " + command);
        int n = -1;
        try {
            // MSG_NOSIGNAL: a closed connection is an error here, not SIGPIPE
            // for whichever thread happened to call. MSG_DONTWAIT: never block
            // past the poll, whatever the socket's mode.
            const auto chunk = static_cast<int>(std::min<std::size_t>(data.size() - sent, INT_MAX));
            n = _socket.sendBytes(data.data() + sent, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
        } catch (const Poco::TimeoutException&) {
            continue;  // EAGAIN after all: poll again
        } catch (const Poco::Exception& e) {
            throw RedisError(RedisError::Kind::Connection,
                             _where + ": connection broken sending " + command + ": " + e.displayText());
        }
        if (n > 0) sent += static_cast<std::size_t>(n);
    }
}

bool Connection::fill(Clock::time_point until) {
    if (!waitFor(POLLIN, until)) return false;
    char buffer[16 * 1024];
    int n = -1;
    try {
        n = _socket.receiveBytes(buffer, sizeof buffer, MSG_DONTWAIT);
    } catch (const Poco::TimeoutException&) {
        return true;  // EAGAIN: nothing after all, the caller polls again
    } catch (const Poco::Exception& e) {
        throw RedisError(RedisError::Kind::Connection, _where + ": connection broken: " + e.displayText());
    }
    if (n == 0) throw RedisError(RedisError::Kind::Connection, _where + ": connection closed by the server");
    if (n > 0) _input.append(buffer, static_cast<std::size_t>(n));
    return true;
}

std::optional<Reply> Connection::receiveUntil(Clock::time_point until) {
    while (true) {
        std::size_t position = _consumed;
        if (auto reply = parseReply(_input, position)) {
            _consumed = position;
            if (_consumed == _input.size()) {
                _input.clear();
                _consumed = 0;
            }
            return reply;
        }
        if (_consumed > 0) {  // keep only the unfinished reply
            _input.erase(0, _consumed);
            _consumed = 0;
        }
        if (!fill(until)) return std::nullopt;
    }
}

Reply Connection::receive(Clock::time_point deadline, const std::string& command) {
    auto reply = receiveUntil(deadline);
    if (!reply) timedOut("waiting for the reply to " + command);
    return std::move(*reply);
}

Reply Connection::call(const std::vector<std::string>& args, Clock::time_point deadline) {
    send(args, deadline);
    return receive(deadline, args.empty() ? std::string("command") : args.front());
}

bool Connection::isReusable() {
    if (_consumed < _input.size()) return false;  // a stray reply: out of step with the server
    pollfd fd{_socket.impl()->sockfd(), POLLIN, 0};
    return ::poll(&fd, 1, 0) == 0;
}

void Connection::timedOut(const std::string& what) const {
    throw RedisError(RedisError::Kind::Timeout,
                     _where + ": timed out after " + std::to_string(_timeout.count()) + " ms " + what);
}

} // namespace sluice::redis::detail
