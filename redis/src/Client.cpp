#include "sluice/redis/Client.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

#include "Connection.h"

namespace sluice::redis {

namespace {

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

// Commands that would leave a pooled connection in a state the next caller
// does not expect (another database, subscribe mode, an open transaction, a
// different protocol), or that only make sense across several calls, which
// may each get a different connection. A Lua script does what MULTI would.
bool changesConnectionState(const std::string& name) {
    static const std::array refused{"AUTH", "SELECT", "HELLO", "RESET", "QUIT", "MONITOR", "SUBSCRIBE", "PSUBSCRIBE",
                                    "SSUBSCRIBE", "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"};
    const auto command = upper(name);
    return std::find(refused.begin(), refused.end(), command) != refused.end();
}

} // namespace

Client::Client(RedisUrl url, std::chrono::milliseconds timeout, std::size_t maxIdleConnections)
    : _url(std::move(url)), _timeout(timeout), _maxIdle(maxIdleConnections) {
    if (_timeout.count() <= 0) throw std::invalid_argument("Redis client timeout must be positive");
}

// Out of line: Connection is complete only here.
Client::~Client() = default;

std::unique_ptr<detail::Connection> Client::acquire(Deadline deadline) {
    while (true) {
        std::unique_ptr<detail::Connection> connection;
        {
            std::lock_guard lock(_mutex);
            if (_idle.empty()) break;
            connection = std::move(_idle.back());
            _idle.pop_back();
        }
        // One the server closed while it sat idle (Redis restarted, or its
        // `timeout` setting dropped us) is discarded here rather than failing the call.
        if (connection->isReusable()) return connection;
    }
    return std::make_unique<detail::Connection>(_url, _timeout, deadline);
}

void Client::release(std::unique_ptr<detail::Connection> connection) {
    std::lock_guard lock(_mutex);
    if (_idle.size() < _maxIdle) _idle.push_back(std::move(connection));
}

std::size_t Client::idleConnections() const {
    std::lock_guard lock(_mutex);
    return _idle.size();
}

Reply Client::execute(const std::vector<std::string>& args, Deadline deadline) {
    auto connection = acquire(deadline);
    // A throw leaves `connection` to be destroyed: after a timeout or a broken
    // connection its state is unknown, so it never goes back to the pool.
    auto reply = connection->call(args, deadline);
    // An error reply leaves the connection in step, but it may also mean the
    // server is no longer the one we want (READONLY after a fail-over,
    // LOADING); a fresh connection costs little and resolves the name again.
    if (!reply.isError()) release(std::move(connection));
    return reply;
}

void Client::throwReplyError(const std::string& what, const Reply& reply) const {
    throw RedisError(RedisError::Kind::Reply,
                     "Redis " + _url.host + ":" + std::to_string(_url.port) + ": " + what + ": " + reply.error());
}

Reply Client::command(const std::vector<std::string>& args) {
    if (args.empty()) throw std::invalid_argument("empty Redis command");
    if (changesConnectionState(args.front()))
        throw std::invalid_argument("Redis command " + upper(args.front()) +
                                    " is not allowed through Client::command: it would change a pooled connection");
    auto reply = execute(args, deadline());
    if (reply.isError()) throwReplyError(upper(args.front()), reply);
    return reply;
}

std::optional<std::string> Client::get(const std::string& key) {
    const auto reply = command({"GET", key});
    if (reply.isNil()) return std::nullopt;
    return reply.string();
}

void Client::setex(const std::string& key, std::chrono::seconds ttl, const std::string& value) {
    command({"SETEX", key, std::to_string(ttl.count()), value});
}

long long Client::del(const std::vector<std::string>& keys) {
    if (keys.empty()) return 0;  // DEL without a key is a syntax error
    std::vector<std::string> args{"DEL"};
    args.insert(args.end(), keys.begin(), keys.end());
    return command(args).integer();
}

long long Client::publish(const std::string& channel, const std::string& message) {
    return command({"PUBLISH", channel, message}).integer();
}

Reply Client::evalScript(const Script& script, const std::vector<std::string>& keys, const std::vector<std::string>& args) {
    std::vector<std::string> call{"EVALSHA", script.sha1(), std::to_string(keys.size())};
    call.insert(call.end(), keys.begin(), keys.end());
    call.insert(call.end(), args.begin(), args.end());
    // One deadline for both attempts: the caller's bound holds even when the
    // script has to be sent again.
    const auto until = deadline();
    auto reply = execute(call, until);
    if (reply.isError() && reply.error().starts_with("NOSCRIPT")) {
        call[0] = "EVAL";
        call[1] = script.text();
        reply = execute(call, until);
    }
    if (reply.isError()) throwReplyError("script " + script.sha1(), reply);
    return reply;
}

bool Client::ping() {
    try {
        const auto reply = execute({"PING"}, deadline());
        return reply.isString() && reply.string() == "PONG";
    } catch (const RedisError&) {
        return false;
    }
}

} // namespace sluice::redis
