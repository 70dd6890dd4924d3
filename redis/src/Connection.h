#pragma once
// One TCP connection to Redis, logged in and on the right database, with
// every wait bounded by a deadline. Internal to sluice-redis.
// Thread: one thread at a time; the Client's pool hands it out exclusively.

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include <Poco/Net/StreamSocket.h>

#include "sluice/redis/RedisUrl.h"
#include "sluice/redis/Reply.h"

namespace sluice::redis::detail {

class Connection {
public:
    using Clock = std::chrono::steady_clock;

    // Connects, then AUTH and SELECT as the URL says, all before `deadline`.
    // `timeout` only words the messages. A stop request (the Subscriber's)
    // abandons the wait within 100 ms. Throws RedisError.
    Connection(const RedisUrl& url, std::chrono::milliseconds timeout, Clock::time_point deadline,
               std::stop_token stop = {});
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void send(const std::vector<std::string>& args, Clock::time_point deadline);
    // One whole reply, error replies included; RedisError(Timeout) when the
    // deadline passes first. `command` names what it answers, for the message.
    Reply receive(Clock::time_point deadline, const std::string& command);
    // One reply if a whole one has arrived by `until`, else nullopt; bytes of
    // a partly received reply are kept for the next call.
    std::optional<Reply> receiveUntil(Clock::time_point until);
    Reply call(const std::vector<std::string>& args, Clock::time_point deadline);

    // For an idle connection: true when nothing is waiting to be read. The
    // server closing it (restart, idle timeout) shows up as readable.
    bool isReusable();

    const std::string& where() const { return _where; }

private:
    void connect(const RedisUrl& url, Clock::time_point deadline);
    // Waits for `events` until `until`, in slices when a stop may come.
    bool waitFor(short events, Clock::time_point until);
    // Reads what has arrived; false when nothing did by `until`.
    bool fill(Clock::time_point until);
    [[noreturn]] void timedOut(const std::string& what) const;

    std::string _where;  // "Redis host:port", the start of every message
    std::chrono::milliseconds _timeout;
    std::stop_token _stop;
    Poco::Net::StreamSocket _socket;
    std::string _input;
    std::size_t _consumed = 0;  // bytes of _input already parsed
};

} // namespace sluice::redis::detail
