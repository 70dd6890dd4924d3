#include "sluice/redis/Subscriber.h"

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <optional>
#include <stdexcept>

#include <pthread.h>

#include <Poco/Logger.h>

#include "Connection.h"
#include "sluice/redis/RedisError.h"

namespace sluice::redis {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto firstRetryDelay = std::chrono::milliseconds(100);
constexpr auto maxRetryDelay = std::chrono::milliseconds(5000);
// Silence longer than this is checked with a PING: without it a connection
// cut by the network (no FIN, no RST) would wait for messages forever.
constexpr auto keepAliveInterval = std::chrono::seconds(10);
// How long one read waits before the loop looks at the stop token and the
// keep-alive clock again.
constexpr auto readSlice = std::chrono::milliseconds(100);

Poco::Logger& logger() { return Poco::Logger::get("sluice.redis"); }

bool isPushOf(const Reply& reply, const char* kind, std::size_t size) {
    if (!reply.isArray() || reply.array().size() != size) return false;
    const auto& first = reply.array().front();
    return first.isString() && first.string() == kind;
}

template <typename Callback>
void runCallback(const char* name, Callback&& callback) {
    try {
        callback();
    } catch (const std::exception& e) {
        logger().error(std::string("Redis subscriber: ") + name + " threw: " + e.what());
    } catch (...) {
        logger().error(std::string("Redis subscriber: ") + name + " threw an unknown exception");
    }
}

} // namespace

Subscriber::Subscriber(RedisUrl url, std::vector<std::string> channels, MessageHandler onMessage,
                       ConnectedHandler onConnected, std::chrono::milliseconds timeout)
    : _url(std::move(url)),
      _channels(std::move(channels)),
      _onMessage(std::move(onMessage)),
      _onConnected(std::move(onConnected)),
      _timeout(timeout) {
    if (_channels.empty()) throw std::invalid_argument("Redis subscriber needs at least one channel");
    if (!_onMessage) throw std::invalid_argument("Redis subscriber needs a message handler");
    if (_timeout.count() <= 0) throw std::invalid_argument("Redis subscriber timeout must be positive");
}

Subscriber::~Subscriber() { stop(); }

void Subscriber::start() {
    std::lock_guard lock(_lifecycle);
    if (_thread.joinable()) return;
    _thread = std::jthread([this](std::stop_token stop) { run(std::move(stop)); });
}

void Subscriber::stop() {
    std::lock_guard lock(_lifecycle);
    if (!_thread.joinable()) return;
    _thread.request_stop();
    _thread.join();
    _thread = std::jthread();
    _connected = false;
}

void Subscriber::run(std::stop_token stop) {
    // MSG_NOSIGNAL covers our own sends; this covers whatever the callbacks write.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);

    std::mutex sleepMutex;
    std::condition_variable_any sleeper;  // woken by a stop request, so stop() need not wait out a back-off
    auto retryDelay = firstRetryDelay;
    bool reportedOutage = false;
    while (!stop.stop_requested()) {
        try {
            const auto deadline = Clock::now() + _timeout;
            detail::Connection connection(_url, _timeout, deadline, stop);
            std::vector<std::string> subscribe{"SUBSCRIBE"};
            subscribe.insert(subscribe.end(), _channels.begin(), _channels.end());
            connection.send(subscribe, deadline);
            for (std::size_t confirmed = 0; confirmed < _channels.size();) {
                const auto reply = connection.receive(deadline, "SUBSCRIBE");
                if (reply.isError())
                    throw RedisError(RedisError::Kind::Reply, connection.where() + ": SUBSCRIBE refused: " + reply.error());
                if (isPushOf(reply, "subscribe", 3)) ++confirmed;
            }
            _connected = true;
            retryDelay = firstRetryDelay;
            reportedOutage = false;
            logger().information("Redis subscriber: listening on " + _url.display());
            if (_onConnected) runCallback("onConnected", _onConnected);
            listen(connection, stop);
        } catch (const RedisError& e) {
            if (stop.stop_requested()) break;
            // Once per outage, not once per retry.
            if (_connected || !reportedOutage)
                logger().warning(std::string("Redis subscriber: ") + e.what() + "; reconnecting");
            reportedOutage = true;
        } catch (const std::exception& e) {
            // Anything else (out of memory, a Poco error we did not map) must
            // not end the thread, which would take the process with it.
            logger().error(std::string("Redis subscriber: unexpected error: ") + e.what() + "; reconnecting");
        }
        _connected = false;
        std::unique_lock lock(sleepMutex);
        sleeper.wait_for(lock, stop, retryDelay, [] { return false; });
        retryDelay = std::min(retryDelay * 2, maxRetryDelay);
    }
    _connected = false;
}

void Subscriber::listen(detail::Connection& connection, const std::stop_token& stop) {
    auto lastHeard = Clock::now();
    std::optional<Clock::time_point> pingSent;
    while (!stop.stop_requested()) {
        const auto reply = connection.receiveUntil(Clock::now() + readSlice);
        const auto now = Clock::now();
        if (!reply) {
            if (pingSent && now - *pingSent > _timeout)
                throw RedisError(RedisError::Kind::Timeout, connection.where() + ": no answer to PING within " +
                                                                std::to_string(_timeout.count()) + " ms");
            if (!pingSent && now - lastHeard >= keepAliveInterval) {
                connection.send({"PING"}, now + _timeout);  // in subscribe mode answered as ["pong", ""]
                pingSent = now;
            }
            continue;
        }
        lastHeard = now;
        pingSent.reset();
        if (reply->isError())
            throw RedisError(RedisError::Kind::Reply, connection.where() + ": " + reply->error());
        if (isPushOf(*reply, "message", 3)) {
            const auto& parts = reply->array();
            if (!parts[1].isString() || !parts[2].isString())
                throw RedisError(RedisError::Kind::Protocol, connection.where() + ": malformed pub/sub message");
            runCallback("onMessage", [&] { _onMessage(parts[1].string(), parts[2].string()); });
        }
        // Anything else ("pong", late confirmations) only proves the connection is alive.
    }
}

} // namespace sluice::redis
