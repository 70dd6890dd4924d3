#pragma once
// Prompt logging's answer capture, as a decorator of the client channel: for
// a principal that logs prompts, the front wraps the channel it hands the
// forwarder, and what the client is sent (up to audit.max_prompt_bytes) is
// kept for the audit record. The forwarder knows nothing of it.

#include <cstddef>
#include <string>
#include <string_view>

#include "AnswerCapture.h"
#include "http/ClientChannel.h"

namespace sluice::kernel {

class CapturingChannel final : public ClientChannel {
public:
    CapturingChannel(ClientChannel& inner, std::size_t limit) : _inner(inner) { _capture.limit = limit; }

    int socketFd() const override { return _inner.socketFd(); }
    void sendWhole(int status, const std::string& contentType, std::string_view body) override {
        _capture.append(body);
        _inner.sendWhole(status, contentType, body);
    }
    bool startStream(int status, const std::string& contentType) override { return _inner.startStream(status, contentType); }
    bool writeStream(std::string_view bytes) override {
        _capture.append(bytes);
        return _inner.writeStream(bytes);
    }
    void endStream() override { _inner.endStream(); }
    // A wait sends nothing: nothing to capture. (A parked relay would write
    // past the capture, so relayParked stays refused.)
    std::optional<WaitEnd> waitParked(int fd, Await what, std::chrono::steady_clock::time_point deadline) override {
        return _inner.waitParked(fd, what, deadline);
    }
    bool servedOnLoop() const override { return _inner.servedOnLoop(); }
    void offLoop(const std::function<void()>& work) override { _inner.offLoop(work); }

    // The bytes captured, given up to the audit record.
    std::string take() { return std::move(_capture.bytes); }

private:
    ClientChannel& _inner;
    AnswerCapture _capture;
};

} // namespace sluice::kernel
