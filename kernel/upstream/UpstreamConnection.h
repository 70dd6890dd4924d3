#pragma once
// One keep-alive TCP (or TLS) connection to a backend, with deadline-bound
// reads that also watch the client's socket, so a client that hangs up stops
// the upstream request at once instead of at the next chunk.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <Poco/Net/Context.h>
#include <Poco/Net/StreamSocket.h>

#include "http/ClientChannel.h"
#include "http/Transfer.h"
#include "sluice/Backend.h"

namespace sluice::kernel {

using Clock = std::chrono::steady_clock;

class UpstreamConnection {
public:
    // Connects within the backend's connect timeout; `tls` is the context for
    // https backends (null for http). Throws UpstreamError(Connect). With
    // `parkVia` the request waits for the connect and a TLS handshake
    // parked, and a name's lookup, which blocks, runs off its I/O thread
    // (ClientChannel::offLoop). The socket is non-blocking from then on.
    static std::unique_ptr<UpstreamConnection> open(const Backend& backend, const Poco::Net::Context::Ptr& tls,
                                                    ClientChannel* parkVia = nullptr);
    ~UpstreamConnection();

    // Throws UpstreamError(Closed) if the connection broke, Timeout past
    // `deadline`. With `parkVia`, a send that must wait parks the request.
    void sendAll(std::string_view data, Clock::time_point deadline, ClientChannel* parkVia = nullptr);
    // Reads what is there (at most `capacity`), waiting until `deadline`.
    // Returns 0 on orderly close. Throws UpstreamError: Timeout, Closed, or
    // ClientGone when `clientFd` (>= 0) shows the client hung up. With
    // `parkVia`, a wait longer than a moment parks the request there
    // (ClientChannel::waitParked): a slow first byte holds no thread; a
    // request served on its I/O thread parks at once.
    std::size_t readSome(char* buffer, std::size_t capacity, Clock::time_point deadline, int clientFd,
                         ClientChannel* parkVia = nullptr);
    // Reads what is there without waiting. nullopt: nothing yet (or, under
    // TLS, a record's rest); 0: orderly close. Throws UpstreamError(Closed).
    std::optional<std::size_t> readNow(char* buffer, std::size_t capacity);
    // The socket's descriptor, for an I/O thread to watch (plain connections).
    int fd() const;
    bool secure() const { return _secure; }

    // An idle pooled connection that turned readable was closed by the
    // backend (or sent junk): it must not be reused.
    bool closedWhileIdle();
    // Closes at once, with a reset, so the backend sees the abort promptly.
    void abort();

    Clock::time_point idleSince;

private:
    // One send or read that does not wait (http/Transfer.h). Throws UpstreamError(Closed).
    Transfer trySend(std::string_view data);
    Transfer tryRead(char* buffer, std::size_t capacity);
    std::size_t readParked(char* buffer, std::size_t capacity, Clock::time_point deadline, ClientChannel& parkVia);
    UpstreamConnection(std::unique_ptr<Poco::Net::StreamSocket> socket, bool secure);
    std::unique_ptr<Poco::Net::StreamSocket> _socket;
    bool _secure;
};

} // namespace sluice::kernel
