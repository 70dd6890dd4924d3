#pragma once
// A thread-safe Redis client for plugins: any thread may call any method.
//
// Every call is bounded by one timeout that covers connecting (when no idle
// connection is at hand), AUTH/SELECT, sending and the reply, so a request
// that consults Redis never waits longer than that on it. (Host name lookup
// is the exception: it is the system resolver's; use an IP address or
// /etc/hosts when that matters.)
//
// Connections: a call takes an idle connection (or opens one), and gives it
// back only when the call succeeded; after any error — broken connection,
// timeout, error reply — it is closed, because its state is unknown (a late
// reply could still arrive and would be read as the next call's answer).
// An idle connection is checked before reuse: one the server has closed (it
// restarted, or dropped idle clients) is thrown away instead of failing the
// call. So the client recovers by itself once Redis is back, without being
// recreated.
//
// Why not Poco::Redis: its pool hands out connections without checking them
// (after a Redis restart every pooled client is dead), its reads have only a
// receive timeout and lose buffered bytes when one fires, and it has no send
// timeout. Here the transport is a Poco::Net::StreamSocket polled against a
// deadline, sent with MSG_NOSIGNAL (no SIGPIPE in any thread), and a small
// RESP2 parser over our own buffer.

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sluice/redis/RedisError.h"
#include "sluice/redis/RedisUrl.h"
#include "sluice/redis/Reply.h"
#include "sluice/redis/Script.h"

namespace sluice::redis {

namespace detail {
class Connection;
}

class Client {
public:
    // Opens no connection yet: the first call does, so a gateway can start
    // while Redis is down. At most `maxIdleConnections` are kept between
    // calls; concurrent calls beyond that open (and then close) their own.
    Client(RedisUrl url, std::chrono::milliseconds timeout, std::size_t maxIdleConnections = 8);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Runs one command, e.g. {"SET", key, value}. An error reply throws
    // RedisError(Reply); error replies nested in an array are returned as
    // Reply values. Commands that change the connection's state for later
    // callers (SELECT, AUTH, SUBSCRIBE, MONITOR, ...) are refused with
    // std::invalid_argument: use the URL's database, or a Subscriber.
    Reply command(const std::vector<std::string>& args);

    std::optional<std::string> get(const std::string& key);
    void setex(const std::string& key, std::chrono::seconds ttl, const std::string& value);
    long long del(const std::vector<std::string>& keys);  // number removed; no call when keys is empty
    long long publish(const std::string& channel, const std::string& message);  // receivers reached

    // EVALSHA, and EVAL with the text when Redis answers NOSCRIPT (which
    // also loads it for the next EVALSHA). An error raised by the script
    // throws RedisError(Reply).
    Reply evalScript(const Script& script, const std::vector<std::string>& keys, const std::vector<std::string>& args);

    // True when Redis answers PONG within the timeout; never throws.
    bool ping();

    const RedisUrl& url() const { return _url; }
    std::chrono::milliseconds timeout() const { return _timeout; }
    std::size_t idleConnections() const;

private:
    using Deadline = std::chrono::steady_clock::time_point;

    // The reply, error replies included; connection-level failures throw.
    Reply execute(const std::vector<std::string>& args, Deadline deadline);
    Deadline deadline() const { return std::chrono::steady_clock::now() + _timeout; }
    [[noreturn]] void throwReplyError(const std::string& what, const Reply& reply) const;
    std::unique_ptr<detail::Connection> acquire(Deadline deadline);
    void release(std::unique_ptr<detail::Connection> connection);

    const RedisUrl _url;
    const std::chrono::milliseconds _timeout;
    const std::size_t _maxIdle;
    mutable std::mutex _mutex;  // guards _idle only; no I/O under it
    std::vector<std::unique_ptr<detail::Connection>> _idle;
};

} // namespace sluice::redis
