#pragma once
// The rest of a streamed answer, as the upstream side hands it to the
// front's I/O thread once the first frame is out (ClientChannel::relayParked):
// the upstream's socket to watch, and what to do when it is readable, when
// the wait runs out, or when the relay is cut. The I/O thread calls these
// on its own thread while the request's stack is parked (net/Fiber), so
// they see the request's state without a lock, and none of them may block.
// Neutral ground, like ClientChannel: upstream/ makes one, front/ drives it.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace sluice::kernel {

struct StreamPump {
    enum class Cut { Deadline, ClientGone, Draining };
    // A pump returns (true) once it added this much for the client, and is
    // called again when the backend's socket is readable: bytes it leaves
    // unread stay there, so the loop is told of them again.
    static constexpr std::size_t kTurnBytes = 64 * 1024;

    int upstreamFd = -1;
    // Reads what the upstream has, without waiting, and appends what the
    // client is to be sent to `toClient`, framed for the wire (HTTP chunks).
    // False: the relay is over (the stream ended, broke, or erred). Never throws.
    std::function<bool(std::string& toClient)> pump;
    // Until when the relay waits for the upstream (an idle stream's stall,
    // timeout.max_stream_s). Asked again whenever that time comes.
    std::function<std::chrono::steady_clock::time_point()> deadline;
    // The relay ends early, for `why`; nothing more is pumped.
    std::function<void(Cut why)> cut;
    // Set by the relay as it ends: the stream's last bytes, framed, left
    // for the request to send with the body's last chunk (one send, not two).
    std::string unsent;
};

// One HTTP/1.1 chunk of `bytes` (none for empty bytes: an empty chunk ends a body).
inline void appendChunk(std::string& wire, std::string_view bytes) {
    if (bytes.empty()) return;
    static constexpr char kHex[] = "0123456789abcdef";
    char size[2 * sizeof(std::size_t)];
    std::size_t at = sizeof size;
    for (auto n = bytes.size(); n != 0; n >>= 4) size[--at] = kHex[n & 15];
    wire.append(size + at, sizeof size - at);
    wire += "\r\n";
    wire += bytes;
    wire += "\r\n";
}

} // namespace sluice::kernel
