#pragma once
// The client's side of one exchange, as the front provides it and the
// upstream side writes to it: a whole answer, or the head and chunks of a
// stream. Neutral ground: front/ implements it, upstream/ and the audit's
// capture decorator use it, and neither includes the other.

#include <string>
#include <string_view>

#include "StreamPump.h"

namespace sluice::kernel {

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
};

} // namespace sluice::kernel
