#pragma once
// What went wrong talking to Redis. The message names the server (never the
// password) and which kind of failure it was; kind() lets a caller treat a
// dead server differently from a refused command.

#include <stdexcept>
#include <string>

namespace sluice::redis {

class RedisError : public std::runtime_error {
public:
    enum class Kind {
        Connection,  // could not connect, or the connection broke
        Timeout,     // connect, send or reply took longer than the client's timeout
        Reply,       // Redis answered with an error reply (-ERR, -WRONGTYPE, -NOSCRIPT, ...)
        Protocol,    // the answer was malformed, or not the type the caller expected
    };

    RedisError(Kind kind, const std::string& message);
    Kind kind() const { return _kind; }

private:
    Kind _kind;
};

} // namespace sluice::redis
