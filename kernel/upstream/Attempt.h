#pragma once
// One candidate of one request: sends the request its dialect makes to the
// backend, reads the answer's head, and relays a whole answer (here) or a
// stream (StreamRelay.cpp), or says why the candidate did not serve, in
// which case nothing has reached the client and the forwarder moves on.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "Failure.h"
#include "Forwarder.h"
#include "ResponseReader.h"
#include "UpstreamConnection.h"
#include "dialect/Dialect.h"

namespace sluice::kernel {

class Attempt {
public:
    using Clock = std::chrono::steady_clock;

    // What the request as a whole sets for each of its attempts.
    struct Terms {
        const Alias* alias;           // the alias the client named, or nullptr
        Clock::time_point deadline;   // timeout.request_ms: the answer must have begun by then
    };

    // `continuing`: this attempt continues a stream another broke; the
    // client's stream is open, and nothing but a continuation is written to it.
    Attempt(const ForwardingServices& services, Upstream& upstream, const Dialect& dialect, RequestContext& ctx,
            const std::string& servedModel, ClientChannel& client, const Terms& terms,
            const BrokenStream* continuing = nullptr);

    // Serves the request from this backend, or returns why it could not
    // (and nothing has reached the client then).
    std::optional<Failure> run(std::string_view body);

private:
    std::optional<Failure> exchange(std::string_view body, bool allowReuse);
    // Answers the client itself when the failure is nobody's to fail over
    // (the gateway is draining, or holds too many whole answers).
    void answerGatewayBusy(const UpstreamError& error);
    // 503 with Retry-After: 1, in the dialect's shape.
    void answerBusy(const std::string& message, const std::string& code);
    std::optional<Failure> relayWhole(ResponseReader& reader);
    // The one stream relay, for every dialect (StreamRelay.cpp).
    std::optional<Failure> relayStream(ResponseReader& reader, StreamPlan& plan);
    // Ends a stream the backend broke after its first byte with an error
    // frame: the filter's own when it has one, else the dialect's.
    void failStream(const std::string& failure, StreamFilter& filter);
    // The log line, metrics and circuit of a stream the backend broke.
    void noteStreamFailure(const std::string& failure);
    // A broken stream left open for a continuation, when the alias asks for
    // one and a prefill can carry what was sent; nullopt: end it now.
    std::optional<Failure> keepOpenForContinuation(const std::string& failure);
    // Whether this request's streams may be continued (a chat route, an alias that asks).
    bool mayContinue() const;
    // Whether a 503's body is Ollama's "server busy" (its queue is full).
    bool saysServerBusy(ResponseReader& reader);
    // A 4xx: passed back to the client, or declined when the alias falls
    // back on its class (aliases.NAME.fallback_on).
    std::optional<Failure> clientError(ResponseReader& reader, int status);
    // Until when the first answer byte is awaited: timeout.first_byte_ms for
    // a stream from a loaded model, timeout.cold_load_ms for a model Ollama
    // must load first and for a whole answer; never past timeout.request_ms.
    Clock::time_point firstByteDeadline() const;
    void finishServed();
    // Counts what the client was sent of the answer: bytes, and the text for
    // the token estimate when the backend reports no usage.
    void countDelivered(std::string_view bytes);
    // A backend that reported no usage: the tokens are estimated from the text (sluice/TokenEstimate.h).
    void estimateUsageIfUnreported();
    // A continuation's usage: its own plus every earlier part's.
    void addEarlierParts();
    // Times the first answer byte: the backend's histogram and the latency router's average.
    void noteFirstByte();
    // The client hung up after the answer began: drop the backend's request.
    std::optional<Failure> clientWentAway();
    Clock::time_point idleDeadline() const { return Clock::now() + _backend.idleTimeout; }
    // Mid-stream, the idle time counts from the last frame that carried
    // answer data, not from the last byte: a backend that sends only SSE
    // comments (": keep-alive") forever has stalled all the same. It is
    // capped by timeout.max_stream_s when that is set.
    Clock::time_point streamDeadline() const {
        const auto idle = _lastFrameAt + _backend.idleTimeout;
        return _streamEnd ? std::min(idle, *_streamEnd) : idle;
    }
    // The failure a mid-stream read ended with, timeout.max_stream_s's own included.
    std::string midStreamFailureOf(const UpstreamError& error) const;
    // A backend's message as the client may see it (one line, no token, nothing that locates the backend).
    std::string clientSafeMessage(std::string message) const;
    DialectCall call(std::string_view clientBody = {}) const { return {_ctx, _backend, _servedModel, clientBody}; }

    const ForwardingServices& _services;
    Upstream& _upstream;
    const Backend& _backend;
    const Dialect& _dialect;
    RequestContext& _ctx;
    const std::string& _servedModel;
    ClientChannel& _client;
    const Terms& _terms;
    const BrokenStream* _continuing;
    Clock::time_point _start;
    std::unique_ptr<UpstreamConnection> _connection;
    std::optional<Clock::time_point> _streamEnd;  // timeout.max_stream_s from the request's start
    Clock::time_point _lastFrameAt;               // the last frame with answer data reached the client
    std::uint64_t _answerChars = 0;  // text delivered, for the estimate when no usage comes
    std::string _text;               // text delivered, kept only when a continuation may need it
    bool _textOnly = true;           // no tool call delivered: a prefill can carry the answer so far
    bool _earlierAdded = false;      // a continuation's usage includes the parts before it
    bool _reused = false;    // the connection came from the pool
    bool _answered = false;  // a byte of the answer arrived
};

} // namespace sluice::kernel
