#pragma once
// The client's side of one exchange, as the front provides it and the
// upstream side writes to it: a whole answer, or the head and chunks of a
// stream. Neutral ground: front/ implements it, upstream/ and the audit's
// capture decorator use it, and neither includes the other.

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "StreamPump.h"

namespace sluice::kernel {

// How a parked wait ended (ClientChannel::waitParked).
enum class WaitEnd { Ready, Timeout, ClientGone, Draining };
// ClientChannel::offLoop found every stage thread busy and
// server.max_queued calls waiting: the request is answered 503, as one
// that found no thread at its arrival.
class StageThreadsBusy : public std::runtime_error {
public:
    StageThreadsBusy() : std::runtime_error("every stage thread is busy and server.max_queued calls wait") {}
};

// What a parked wait waits for on its descriptor.
enum class Await { Readable, Writable };

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
    // Waits with the request parked until `fd` is readable or writable as
    // `what` says (-1: no descriptor, only the time), `deadline` passes, the
    // client hangs up or the drain ends: the client's I/O thread watches,
    // and the request holds no thread meanwhile. nullopt, with nothing
    // done: this channel cannot, and the caller waits itself.
    virtual std::optional<WaitEnd> waitParked(int /*fd*/, Await /*what*/, std::chrono::steady_clock::time_point /*deadline*/) {
        return std::nullopt;
    }
    // Whether the request runs on its I/O thread: then nothing may block,
    // not even briefly (every other connection of that thread would wait);
    // a wait parks at once (waitParked), and work that may block goes
    // through offLoop().
    virtual bool servedOnLoop() const { return false; }
    // Runs `work`, which may block (a plugin's store, a TLS backend's
    // records, a connect): off the I/O thread when the request runs on one
    // (on a stage thread, and back after), else here. Exceptions pass
    // through; throws StageThreadsBusy, with `work` not run, when the stage
    // threads' queue is full.
    virtual void offLoop(const std::function<void()>& work) { work(); }
};

} // namespace sluice::kernel
