#pragma once
// The client's side of one exchange, as the front provides it and the
// upstream side writes to it: a whole answer, or the head and chunks of a
// stream. Neutral ground: front/ implements it, upstream/ and the audit's
// capture decorator use it, and neither includes the other.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "StreamPump.h"

namespace sluice::kernel {

// How a parked wait ended (ClientChannel::waitParked).
enum class WaitEnd { Ready, Timeout, ClientGone, Draining };

class ClientChannel {
public:
    virtual ~ClientChannel() = default;
    // The client's socket, watched for hang-ups while waiting on a backend; -1 if none.
    virtual int socketFd() const = 0;
    // Sends a whole answer with a Content-Length.
    virtual void sendWhole(int status, const std::string& contentType, std::string_view body) = 0;
    // Sends the head of a chunked, streamed answer. False: the client is gone.
    virtual bool startStream(int status, const std::string& contentType) = 0;
    // Sends bytes as one chunk. False: the client is gone.
    virtual bool writeStream(std::string_view bytes) = 0;
    virtual void endStream() = 0;
    // Hands the rest of a started stream to the client's I/O thread, which
    // drives `pump` until the relay is over, and returns then: meanwhile the
    // calling request holds no thread. False, with nothing done: this
    // channel cannot (TLS to the client, a capture of the answer, no I/O
    // thread), and the caller relays the rest itself.
    virtual bool relayParked(StreamPump& /*pump*/) { return false; }
    // Waits with the request parked until `fd` is readable (-1: no
    // descriptor, only the time), `deadline` passes, the client hangs up or
    // the drain ends: the client's I/O thread watches, and the request holds
    // no thread meanwhile. nullopt, with nothing done: this channel cannot,
    // and the caller waits itself.
    virtual std::optional<WaitEnd> waitParked(int /*fd*/, std::chrono::steady_clock::time_point /*deadline*/) {
        return std::nullopt;
    }
};

} // namespace sluice::kernel
