#pragma once
// The client channel over a Poco response: what the forwarder and the
// front's own answers write through, adding the headers every answer
// carries (X-Request-ID, X-Sluice-Backend/-Model once a backend served, and
// the context's response headers: CORS, rate limits, Retry-After).

#include <functional>
#include <ostream>
#include <string>
#include <string_view>

#include <Poco/Net/HTTPServerResponse.h>

#include "ServerRequest.h"
#include "ServerResponse.h"
#include "http/ClientChannel.h"
#include "sluice/RequestContext.h"

namespace sluice::kernel {

class PocoClientChannel final : public ClientChannel {
public:
    PocoClientChannel(ServerRequest& request, ServerResponse& response, RequestContext& ctx);

    // Runs once, just before any answer's head is made (whole or stream).
    void beforeAnswer(std::function<void()> hook) { _beforeAnswer = std::move(hook); }
    // Runs once, just before a whole answer's bytes go out.
    void beforeWholeAnswer(std::function<void()> hook) { _beforeWhole = std::move(hook); }

    int socketFd() const override { return _fd; }
    void sendWhole(int status, const std::string& contentType, std::string_view body) override;
    bool startStream(int status, const std::string& contentType) override;
    bool writeStream(std::string_view bytes) override;
    void endStream() override;
    // Plain connections with an I/O thread, an open chunked stream, not HEAD.
    bool relayParked(StreamPump& pump) override;
    std::optional<WaitEnd> waitParked(int fd, Await what, std::chrono::steady_clock::time_point deadline) override {
        return _relays ? _relays->waitParked(fd, what, deadline) : std::nullopt;
    }
    bool servedOnLoop() const override { return _relays && _relays->servedOnLoop(); }
    void offLoop(const std::function<void()>& work) override {
        if (_relays) _relays->offLoop(work);
        else work();
    }

    // Whether an answer's head went out.
    bool sent() const { return _sent; }

    // An error answer in the request's protocol shape; sets ctx.status.
    void replyError(int status, const std::string& message, const std::string& code = {});

private:
    void prepare(int status, const std::string& contentType);

    ServerResponse& _response;
    RequestContext& _ctx;
    std::function<void()> _beforeAnswer;
    std::function<void()> _beforeWhole;
    int _fd = -1;
    ParkedRelays* _relays = nullptr;
    std::ostream* _out = nullptr;
    bool _sent = false;
};

} // namespace sluice::kernel
