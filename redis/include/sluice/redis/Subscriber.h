#pragma once
// Listens on Redis pub/sub channels on its own thread and keeps listening:
// when the connection breaks it reconnects and resubscribes, waiting 100 ms
// after the first failure, doubling to at most 5 s, until stopped.
//
// Messages published while it was disconnected are lost — Redis pub/sub does
// not queue them — so onConnected runs after every successful (re)subscribe:
// a cache that relies on invalidation messages must be flushed there.
//
// Thread: both callbacks run on the subscriber's thread, one at a time; keep
// them short (a slow callback delays the next message, not Redis). An
// exception from a callback is logged and ignored. SIGPIPE is blocked on that
// thread, so a callback writing to a closed socket gets EPIPE, not death.
// Do not call stop() or destroy the Subscriber from inside a callback.
//
// A silent network (no FIN, no RST) is noticed by a PING sent after 10 s
// without traffic: no answer within the timeout means reconnect.

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "sluice/redis/RedisUrl.h"

namespace sluice::redis {

namespace detail {
class Connection;
}

class Subscriber {
public:
    using MessageHandler = std::function<void(const std::string& channel, const std::string& message)>;
    using ConnectedHandler = std::function<void()>;

    // Does not connect until start(). `timeout` bounds connecting,
    // subscribing and the answer to a keep-alive PING. Throws
    // std::invalid_argument when there is no channel or no onMessage.
    Subscriber(RedisUrl url, std::vector<std::string> channels, MessageHandler onMessage, ConnectedHandler onConnected,
               std::chrono::milliseconds timeout = std::chrono::seconds(2));
    ~Subscriber();  // stops
    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;

    void start();  // no-op when already running
    void stop();   // returns within about 100 ms, even while connecting or waiting to retry

    // Subscribed right now (for health checks and tests).
    bool isConnected() const { return _connected.load(); }

private:
    void run(std::stop_token stop);
    void listen(detail::Connection& connection, const std::stop_token& stop);

    const RedisUrl _url;
    const std::vector<std::string> _channels;
    const MessageHandler _onMessage;
    const ConnectedHandler _onConnected;
    const std::chrono::milliseconds _timeout;
    std::atomic<bool> _connected{false};
    std::mutex _lifecycle;  // serialises start() and stop()
    std::jthread _thread;
};

} // namespace sluice::redis
