#include "Forwarder.h"

#include <algorithm>
#include <optional>

#include <Poco/Logger.h>
#include <Poco/String.h>

#include "../Pipeline.h"
#include "../audit/AnswerCapture.h"
#include "../front/ErrorBody.h"
#include "../translate/OllamaOpenAi.h"
#include "../translate/StreamTranslator.h"
#include "AnswerBudget.h"
#include "DrainDeadline.h"
#include "FrameSplitter.h"
#include "ResponseReader.h"
#include "UpstreamError.h"
#include "sluice/BackendFetch.h"
#include "sluice/Json.h"
#include "sluice/TokenEstimate.h"

namespace sluice::kernel {

namespace {
constexpr std::size_t kMaxWholeBody = 64 * 1024 * 1024;
constexpr std::size_t kMaxFrame = 8 * 1024 * 1024;
constexpr std::size_t kMaxErrorMessage = 300;

// Why a candidate did not serve; decides the client's status when none does.
struct Failure {
    UpstreamOutcome kind;    // never Ok
    std::string detail;      // for logs only: may name the backend
    std::string retryAfter;  // from a 429
};

Failure failureFrom(const UpstreamError& error) {
    switch (error.kind()) {
    case UpstreamError::Kind::Connect: return {UpstreamOutcome::ConnectError, error.what(), {}};
    case UpstreamError::Kind::Timeout: return {UpstreamOutcome::Timeout, error.what(), {}};
    default: return {UpstreamOutcome::Broken, error.what(), {}};
    }
}

// What a stream's error frame says when the backend's side ended it.
const std::string kStreamTooLong = "the stream ran past timeout.max_stream_s";

std::string midStreamFailure(const UpstreamError& error) {
    switch (error.kind()) {
    case UpstreamError::Kind::Timeout: return "the backend stalled mid-stream";
    case UpstreamError::Kind::Draining: return "the gateway is shutting down";
    default: return "the backend's stream broke off";
    }
}

// The path on the backend, built from the route (not the client's spelling of
// it: "/api/chat/" is the same call as "/api/chat").
std::string upstreamPath(const Backend& backend, std::string_view routePath) {
    // An openai-kind URL is the API base ("…/v1"); the route's part after /v1 follows it.
    if (backend.kind == BackendKind::OpenAI && routePath.starts_with("/v1/")) routePath.remove_prefix(3);
    return backend.basePath + std::string(routePath);
}

std::string requestHead(const Backend& backend, const RequestContext& ctx, const std::string& path, std::size_t bodyLength) {
    std::string head;
    head.reserve(512);
    const bool ipv6 = backend.host.find(':') != std::string::npos;
    head += ctx.method + ' ' + path + " HTTP/1.1\r\nHost: " +
            (ipv6 ? "[" + backend.host + "]" : backend.host);
    const bool defaultPort = (backend.scheme == "http" && backend.port == 80) || (backend.scheme == "https" && backend.port == 443);
    if (!defaultPort) head += ':' + std::to_string(backend.port);
    // identity: the relay reads frames and usage out of the body, and passes
    // the body on without a Content-Encoding of its own.
    head += "\r\nUser-Agent: sluice/" SLUICE_VERSION "\r\nAccept: application/json, application/x-ndjson, text/event-stream\r\n"
            "Accept-Encoding: identity\r\n"
            "Content-Type: application/json\r\nContent-Length: " +
            std::to_string(bodyLength) + "\r\nX-Request-ID: " + ctx.requestId + "\r\n";
    if (const auto auth = backend.authHeaderValue(); !auth.empty()) head += backend.authHeader + ": " + auth + "\r\n";
    head += "\r\n";
    return head;
}

// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
void truncateUtf8(std::string& text, std::size_t limit) {
    if (text.size() <= limit) return;
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
}

// A backend's error message as the client may see it: on one line with the
// gateway's token masked, trimmed, and replaced by a generic one if it tells
// where the backend is.
std::string clientSafeMessage(std::string message, const Backend& backend) {
    message = backendSafeLine(std::move(message), backend);
    if (message.empty() || revealsBackend(message, backend)) message = "the backend rejected the request";
    truncateUtf8(message, kMaxErrorMessage);
    return message;
}

// The upstream's error message for a 4xx passed back to the client.
std::string upstreamMessage(const std::string& body, const Backend& backend) {
    const auto json = parseJson(body);
    std::string message;
    if (json.is_object() && json.contains("error")) {
        const auto& error = json["error"];
        if (error.is_string()) message = error.get<std::string>();
        else if (error.is_object() && error.contains("message") && error["message"].is_string())
            message = error["message"].get<std::string>();
    }
    return clientSafeMessage(std::move(message), backend);
}

// The first frame that carries an answer: a non-blank NDJSON line, or an SSE
// event with a data line. SSE comments (": keep-alive", which some providers
// send while a model loads) and blank lines do not count, so they cannot end
// the window in which a failing backend is still failed over.
std::string_view firstAnswerFrame(Framing framing, std::string_view frames) {
    std::string_view found;
    FrameSplitter::forEachFrame(framing, frames, [&](std::string_view frame) {
        if (!found.empty()) return;
        const bool carries = framing == Framing::Ndjson
                                 ? frame.find_first_not_of(" \t\r\n") != std::string_view::npos
                                 : frame.starts_with("data:") || frame.find("\ndata:") != std::string_view::npos;
        if (carries) found = frame;
    });
    return found;
}

bool isErrorFrame(Framing framing, std::string_view frame) {
    const auto data = framing == Framing::Sse ? sseEventData(frame) : std::string(frame);
    if (!data) return false;
    const auto json = parseJson(*data);
    return json.is_object() && json.contains("error") && !json.contains("choices") && !json.contains("message");
}

// Finds token counts in streamed frames without parsing every frame: only
// frames that can carry them (Ollama's done:true, OpenAI's usage) are parsed.
void noteUsage(Framing framing, std::string_view frames, Usage& usage) {
    FrameSplitter::forEachFrame(framing, frames, [&](std::string_view frame) {
        if (framing == Framing::Ndjson) {
            if (frame.find("\"done\"") == std::string_view::npos) return;
            readUsage(parseJson(frame), usage);
        } else {
            if (frame.find("\"usage\"") == std::string_view::npos) return;
            if (const auto data = sseEventData(frame)) readUsage(parseJson(*data), usage);
        }
    });
}

// An OpenAI-protocol stream whose client did not set stream_options.include_usage.
bool needsUsageAsked(const RequestContext& ctx) {
    if (!ctx.stream || (ctx.route.kind != RouteKind::OpenAIChat && ctx.route.kind != RouteKind::OpenAICompletions)) return false;
    const auto options = ctx.body.find("stream_options");
    if (options == ctx.body.end() || !options->is_object()) return true;
    const auto include = options->find("include_usage");
    return include == options->end() || !include->is_boolean() || !include->get<bool>();
}

// The event OpenAI sends for include_usage: no choices, only the usage.
bool isUsageOnlyEvent(std::string_view frame) {
    if (frame.find("\"usage\"") == std::string_view::npos) return false;
    const auto data = sseEventData(frame);
    if (!data) return false;
    const auto json = parseJson(*data);
    if (!json.is_object()) return false;
    const auto usage = json.find("usage");
    const auto choices = json.find("choices");
    return usage != json.end() && usage->is_object() && (choices == json.end() || (choices->is_array() && choices->empty()));
}

// One request in flight to one backend, counted for least-busy routing.
class InFlight {
public:
    InFlight(BackendHealth& health, Upstream& upstream)
        : _health(health), _upstream(upstream), _tookTrial(_health.beginRequest(_upstream.backend().name)) {
        _upstream.metrics.inFlight.add(1);
    }
    ~InFlight() {
        _health.endRequest(_upstream.backend().name, _tookTrial);
        _upstream.metrics.inFlight.add(-1);
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

private:
    BackendHealth& _health;
    Upstream& _upstream;
    bool _tookTrial;  // this attempt is a half-open circuit's trial
};

class Attempt {
public:
    Attempt(Pipeline& pipeline, Upstream& upstream, RequestContext& ctx, const Candidate& candidate, ClientChannel& client)
        : _pipeline(pipeline), _upstream(upstream), _backend(upstream.backend()), _ctx(ctx), _candidate(candidate),
          _client(client), _start(Clock::now()), _capture(ctx.findSlot(kAnswerCapture)),
          _translation(_backend.kind == BackendKind::OpenAI && ctx.route.protocol == Protocol::Ollama
                           ? translatableCall(ctx.route.kind)
                           : std::nullopt),
          _streamEnd(pipeline.settings().maxStream.count() > 0
                         ? std::optional<Clock::time_point>(ctx.startedAt + pipeline.settings().maxStream)
                         : std::nullopt) {}

    // Serves the request from this backend, or returns why it could not
    // (and nothing has reached the client then).
    std::optional<Failure> run(std::string_view body);

private:
    std::optional<Failure> exchange(std::string_view body, bool allowReuse);
    std::optional<Failure> relayWhole(ResponseReader& reader);
    std::optional<Failure> relayStream(ResponseReader& reader, Framing framing, const std::string& contentType);
    std::optional<Failure> relayTranslatedStream(ResponseReader& reader);
    // Ends a stream the backend broke after its first byte with an error frame.
    void failStream(const std::string& failure);
    void passBackClientError(ResponseReader& reader, int status);
    void finishServed();
    // Delivers stream frames to the client (dropping a usage event it did not ask for). False: the client is gone.
    bool deliverFrames(Framing framing, std::string_view frames);
    // A backend that reported no usage: the tokens are estimated from the text (sluice/TokenEstimate.h).
    void estimateUsageIfUnreported();
    // Times the first answer byte: the backend's histogram and the latency router's average.
    void noteFirstByte();
    // The model name the backend knows the request's model by.
    const std::string& servedModel() const { return _candidate.upstreamModel.empty() ? _ctx.model : _candidate.upstreamModel; }
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
    std::string midStreamFailureOf(const UpstreamError& error) const {
        if (error.kind() == UpstreamError::Kind::Timeout && _streamEnd && Clock::now() >= *_streamEnd)
            return kStreamTooLong;
        return midStreamFailure(error);
    }

    Pipeline& _pipeline;
    Upstream& _upstream;
    const Backend& _backend;
    RequestContext& _ctx;
    const Candidate& _candidate;
    ClientChannel& _client;
    Clock::time_point _start;
    // Set only for requests whose prompt is logged: what the client is sent, for the audit.
    AnswerCapture* _capture;
    // Set when an Ollama call goes to an OpenAI-compatible backend: the request
    // and its answer are translated (kernel/translate).
    std::optional<OllamaCall> _translation;
    std::unique_ptr<UpstreamConnection> _connection;
    // An OpenAI-protocol stream whose client did not ask for usage: the
    // gateway asks (its token limits need the count) and drops the usage
    // event again before the client sees it.
    bool _stripUsage = false;
    std::optional<Clock::time_point> _streamEnd;  // timeout.max_stream_s from the request's start
    Clock::time_point _lastFrameAt;               // the last frame with answer data reached the client
    std::uint64_t _answerChars = 0;  // text delivered, for the estimate when no usage comes
    bool _reused = false;    // the connection came from the pool
    bool _answered = false;  // a byte of the answer arrived
};

std::optional<Failure> Attempt::run(std::string_view body) {
    for (bool firstTry = true;; firstTry = false) {
        try {
            auto failure = exchange(body, firstTry);
            // Served, whole or cut mid-stream: the tokens were spent either way.
            if (!failure && _ctx.status >= 200 && _ctx.status < 300) estimateUsageIfUnreported();
            return failure;
        } catch (const UpstreamError& error) {
            if (error.kind() == UpstreamError::Kind::ClientGone) {
                _ctx.outcome = Outcome::ClientCancel;
                _ctx.status = 499;
                return std::nullopt;
            }
            if (error.kind() == UpstreamError::Kind::Draining || error.kind() == UpstreamError::Kind::Overloaded) {
                // Not the backend's fault, and another backend would fare no better: answer now.
                if (_connection) _connection->abort();
                const bool draining = error.kind() == UpstreamError::Kind::Draining;
                if (!draining)
                    _pipeline.logger("forwarder").warning("request %s: backend %s: its whole answer does not fit in "
                                                          "limits.answer_buffer_bytes; answered 503", _ctx.requestId, _backend.name);
                _ctx.outcome = Outcome::UpstreamError;
                _ctx.status = 503;
                _ctx.responseHeaders.emplace_back("Retry-After", "1");
                _client.sendWhole(503, "application/json",
                                  errorBody(_ctx.route.protocol, 503,
                                            draining ? "the gateway is shutting down"
                                                     : "the gateway holds too many large answers at once; retry shortly",
                                            draining ? "shutting_down" : "gateway_busy"));
                return std::nullopt;
            }
            // A pooled connection the backend closed while idle breaks before
            // any answer byte: try once more on a fresh one, not another backend.
            const bool staleConnection = _reused && !_answered && error.kind() == UpstreamError::Kind::Closed;
            if (firstTry && staleConnection) continue;
            return failureFrom(error);
        }
    }
}

std::optional<Failure> Attempt::exchange(std::string_view body, bool allowReuse) {
    auto& pool = _upstream.pool;
    _connection = allowReuse ? pool.takeIdle() : nullptr;
    _reused = _connection != nullptr;
    if (!_connection) _connection = pool.open();

    const auto firstByteDeadline = _start + _backend.firstByteTimeout;
    std::string payload;
    std::string_view sent = body;
    _stripUsage = !_translation && needsUsageAsked(_ctx);
    if (_translation) {
        payload = toOpenAiRequest(*_translation, _ctx.body, servedModel(), _ctx.stream)
                      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        sent = payload;
    } else if (_ctx.bodyChanged || (!_candidate.upstreamModel.empty() && _candidate.upstreamModel != _ctx.model) || _stripUsage) {
        auto rewritten = _ctx.body;
        if (!_candidate.upstreamModel.empty()) rewritten["model"] = _candidate.upstreamModel;
        if (_stripUsage) rewritten["stream_options"]["include_usage"] = true;
        payload = rewritten.dump();
        sent = payload;
    }
    const auto path = _translation ? _backend.basePath + std::string(openAiPath(*_translation))
                                   : upstreamPath(_backend, _ctx.route.name);
    _connection->sendAll(requestHead(_backend, _ctx, path, sent.size()) + std::string(sent), Clock::now() + _backend.connectTimeout + std::chrono::seconds(10));

    ResponseReader reader(*_connection, _client.socketFd());
    try {
        reader.readHead(firstByteDeadline);
    } catch (const UpstreamError&) {
        _answered = reader.receivedAny();
        throw;
    }
    _answered = true;  // an answer came back: no silent retry from here on
    const auto& head = reader.head();

    if (head.status == 429) {
        const auto* retry = head.header("retry-after");
        return Failure{UpstreamOutcome::Status429, "answered 429", retry ? *retry : std::string()};
    }
    if (head.status >= 500) return Failure{UpstreamOutcome::Status5xx, "answered " + std::to_string(head.status), {}};
    if (head.status == 404) return Failure{UpstreamOutcome::ModelNotFound, "answered 404", {}};
    // 401/403: the backend refused *our* credential (an expired provider
    // key): a gateway problem, not the client's, and the next candidate may serve.
    if (head.status == 401 || head.status == 403) {
        _pipeline.logger("forwarder").error("backend %s refused the gateway's credentials (%d)", _backend.name, int(head.status));
        return Failure{UpstreamOutcome::UpstreamAuth, "answered " + std::to_string(head.status), {}};
    }
    // A redirect is not an answer a gateway can pass on (it would point the
    // client at the backend): count it as a failed backend.
    if (head.status >= 300 && head.status < 400) return Failure{UpstreamOutcome::Broken, "answered " + std::to_string(head.status), {}};
    if (head.status >= 400) {
        passBackClientError(reader, head.status);
        return std::nullopt;
    }

    // Asked for identity; a backend that compresses anyway cannot be relayed
    // (the client would get the compressed bytes without their header).
    if (const auto* encoding = head.header("content-encoding"); encoding && Poco::icompare(*encoding, "identity") != 0)
        return Failure{UpstreamOutcome::Broken, "answered with Content-Encoding " + encoding->substr(0, 40), {}};
    const auto* type = head.header("content-type");
    const std::string contentType = type ? *type : "application/json";
    if (_translation) return contentType.find("event-stream") != std::string::npos ? relayTranslatedStream(reader) : relayWhole(reader);
    if (contentType.find("ndjson") != std::string::npos) return relayStream(reader, Framing::Ndjson, contentType);
    if (contentType.find("event-stream") != std::string::npos) return relayStream(reader, Framing::Sse, contentType);
    return relayWhole(reader);
}

std::optional<Failure> Attempt::relayWhole(ResponseReader& reader) {
    std::string answer;
    AnswerBudget::Hold hold(AnswerBudget::process());
    // A declared length is taken from the budget and reserved at once: the
    // buffer is then the answer's size, where growing it by doubling would
    // hold (and count) up to twice that, depending on how the bytes arrived.
    if (const auto length = reader.head().contentLength) {
        if (*length > kMaxWholeBody) return Failure{UpstreamOutcome::Broken, "answer larger than 64 MiB", {}};
        if (!hold.growTo(*length)) throw UpstreamError(UpstreamError::Kind::Overloaded, "limits.answer_buffer_bytes is spent");
        answer.reserve(*length);
    }
    while (reader.readBody(answer, idleDeadline())) {
        if (answer.size() > kMaxWholeBody) return Failure{UpstreamOutcome::Broken, "answer larger than 64 MiB", {}};
        if (!hold.growTo(answer.capacity()))
            throw UpstreamError(UpstreamError::Kind::Overloaded, "limits.answer_buffer_bytes is spent");
    }

    noteFirstByte();
    const auto* type = reader.head().header("content-type");
    const auto parsed = parseJson(answer);
    // Every route the gateway forwards answers JSON: anything else (an HTML
    // error page with 200, a body cut off by the backend's close) is not an answer.
    if (parsed.is_discarded())
        return Failure{UpstreamOutcome::Broken, reader.closeDelimited() ? "answer cut off" : "the answer is not JSON", {}};
    std::string contentType = type ? *type : "application/json";
    if (_translation) {
        auto translated = toOllamaAnswer(*_translation, parsed, servedModel(), Clock::now() - _start);
        if (!translated) return Failure{UpstreamOutcome::Broken, "the answer is not an OpenAI answer", {}};
        answer = std::move(*translated);
        contentType = "application/json";
        // A provider that answers a stream request whole: the client still reads NDJSON.
        if (_ctx.stream) {
            answer += '\n';
            contentType = "application/x-ndjson";
        }
    }
    readUsage(parsed, _ctx.usage);
    if (!_ctx.usage.reported) _answerChars = codePoints(answerText(answer));
    _ctx.status = reader.head().status;
    finishServed();
    _client.sendWhole(_ctx.status, contentType, answer);
    _ctx.firstByteAt = Clock::now();
    _ctx.bytesOut += answer.size();
    if (_capture) _capture->append(answer);
    if (reader.reusable()) _upstream.pool.giveBack(std::move(_connection));
    return std::nullopt;
}

std::optional<Failure> Attempt::relayStream(ResponseReader& reader, Framing framing, const std::string& contentType) {
    FrameSplitter splitter(framing, kMaxFrame);
    std::string payload;
    bool ended = false;
    // The first-chunk rule: nothing reaches the client until one whole frame
    // arrived and is not an error, so a dying backend can still be failed over.
    const auto firstByteDeadline = _start + _backend.firstByteTimeout;
    while (firstAnswerFrame(framing, splitter.complete()).empty()) {
        payload.clear();
        if (!reader.readBody(payload, firstByteDeadline)) {
            ended = true;
            break;
        }
        splitter.append(payload);
        if (splitter.oversized()) return Failure{UpstreamOutcome::Broken, "first frame too large", {}};
    }
    // A stream that ended cleanly with one unterminated frame still answered,
    // unless only the backend's close ended it: then the frame may be cut short.
    auto first = firstAnswerFrame(framing, splitter.complete());
    if (first.empty() && ended && !reader.closeDelimited()) first = firstAnswerFrame(framing, splitter.partial());
    if (first.empty()) return Failure{UpstreamOutcome::Broken, "stream ended before its first frame", {}};
    if (isErrorFrame(framing, first)) return Failure{UpstreamOutcome::Status5xx, "stream began with an error", {}};

    noteFirstByte();
    _ctx.status = reader.head().status;
    finishServed();
    if (!_client.startStream(_ctx.status, contentType)) return clientWentAway();
    _ctx.firstByteAt = Clock::now();

    auto deliver = [&](std::string_view frames) { return deliverFrames(framing, frames); };
    _lastFrameAt = Clock::now();
    if (!deliver(splitter.complete())) return clientWentAway();
    splitter.takeComplete();

    std::string failure;
    while (!ended) {
        payload.clear();
        try {
            if (!reader.readBody(payload, streamDeadline())) break;
        } catch (const UpstreamError& error) {
            if (error.kind() == UpstreamError::Kind::ClientGone) return clientWentAway();
            failure = midStreamFailureOf(error);
            break;
        }
        splitter.append(payload);
        if (splitter.oversized()) {
            failure = "the backend sent an oversized frame";
            break;
        }
        if (!splitter.complete().empty()) {
            if (!deliver(splitter.complete())) return clientWentAway();
            splitter.takeComplete();
        }
    }

    // A close-delimited body that stops mid-frame was cut off, not finished.
    if (failure.empty() && reader.closeDelimited() && !splitter.partial().empty())
        failure = "the backend's stream broke off";
    if (failure.empty()) {
        // A clean end: a last frame without its newline is still the backend's answer.
        if (!splitter.partial().empty() && !deliver(splitter.partial())) _ctx.outcome = Outcome::ClientCancel;
        _client.endStream();
        if (reader.reusable()) _upstream.pool.giveBack(std::move(_connection));
        return std::nullopt;
    }
    failStream(failure);
    return std::nullopt;
}

// An Ollama chat or generate that an OpenAI-compatible backend streams as SSE:
// relayStream's rules hold, with each event translated to NDJSON lines before
// it is written. The failover window ends with the first translated line, not
// the first event: a role-only event or a keep-alive comment says nothing to
// the client yet, so a backend that dies after one is still failed over.
std::optional<Failure> Attempt::relayTranslatedStream(ResponseReader& reader) {
    using Step = StreamTranslator::Step;
    FrameSplitter splitter(Framing::Sse, kMaxFrame);
    StreamTranslator translator(*_translation, servedModel(), _start);
    auto step = Step::More;
    std::string payload;
    std::string lines;  // translated, not yet written
    auto translate = [&](std::string_view events) {
        FrameSplitter::forEachFrame(Framing::Sse, events, [&](std::string_view event) {
            if (step == Step::More) step = translator.take(event, lines);
        });
        // Counted as soon as known: a stream that breaks after its usage event was still spent.
        if (translator.usage().reported) _ctx.usage = translator.usage();
    };
    // Reads the next bytes and translates the events they complete. False: the body ended cleanly.
    auto readMore = [&](Clock::time_point deadline) {
        payload.clear();
        if (!reader.readBody(payload, deadline)) return false;
        splitter.append(payload);
        translate(splitter.complete());
        splitter.takeComplete();
        return true;
    };
    // After a clean end of the body: a last event without its blank line still
    // counts (unless only the backend's close ended the body, which may have cut
    // it), and an answer that finished without [DONE] is whole.
    auto takeEnd = [&] {
        if (!splitter.partial().empty()) {
            if (reader.closeDelimited()) return false;
            translate(splitter.partial());
        }
        return step == Step::Done || (step == Step::More && translator.finish(lines));
    };

    bool ended = false;
    const auto firstByteDeadline = _start + _backend.firstByteTimeout;
    while (lines.empty() && step == Step::More && !ended) {
        ended = !readMore(firstByteDeadline);
        if (splitter.oversized()) return Failure{UpstreamOutcome::Broken, "first frame too large", {}};
    }
    bool whole = ended && takeEnd();
    if (step == Step::Error) return Failure{UpstreamOutcome::Status5xx, "stream began with an error", {}};
    if (ended && !whole) return Failure{UpstreamOutcome::Broken, "stream ended before its answer did", {}};

    noteFirstByte();
    _ctx.status = reader.head().status;
    finishServed();
    if (!_client.startStream(_ctx.status, "application/x-ndjson")) return clientWentAway();
    _ctx.firstByteAt = Clock::now();
    auto deliver = [&] {
        _lastFrameAt = Clock::now();
        _answerChars += codePoints(answerText(lines));
        _ctx.bytesOut += lines.size();
        if (_capture) _capture->append(lines);
        const bool written = _client.writeStream(lines);
        lines.clear();
        return written;
    };
    if (!deliver()) return clientWentAway();

    std::string failure;
    while (!ended && step == Step::More) {
        try {
            if (!readMore(streamDeadline())) {
                ended = true;
                whole = takeEnd();
            }
        } catch (const UpstreamError& error) {
            if (error.kind() == UpstreamError::Kind::ClientGone) return clientWentAway();
            failure = midStreamFailureOf(error);
            break;
        }
        if (splitter.oversized()) {
            failure = "the backend sent an oversized frame";
            break;
        }
        if (!lines.empty() && !deliver()) return clientWentAway();
    }
    if (failure.empty() && ended && !whole && step != Step::Error) failure = "the backend's stream broke off";
    if (failure.empty() && step == Step::Error) failure = clientSafeMessage(translator.error(), _backend);
    // Lines translated before the failure or the end are the backend's answer too.
    if (!lines.empty() && !deliver()) return clientWentAway();
    if (!failure.empty()) {
        failStream(failure);
        return std::nullopt;
    }
    _client.endStream();
    // [DONE] came: the body should end right after it; reading that end lets
    // the connection serve another request.
    if (!ended) {
        try {
            const auto deadline = Clock::now() + std::min<Clock::duration>(_backend.idleTimeout, std::chrono::seconds(1));
            for (std::size_t drained = 0; drained < kMaxFrame && readMore(deadline); drained += payload.size()) {}
        } catch (const UpstreamError&) {
            // The answer is whole; only the connection is not reused.
        }
    }
    if (reader.reusable()) _upstream.pool.giveBack(std::move(_connection));
    return std::nullopt;
}

bool Attempt::deliverFrames(Framing framing, std::string_view frames) {
    noteUsage(framing, frames, _ctx.usage);
    std::string kept;
    if (_stripUsage && frames.find("\"usage\"") != std::string_view::npos) {
        FrameSplitter::forEachFrame(framing, frames, [&](std::string_view frame) {
            if (!isUsageOnlyEvent(frame)) kept.append(frame);
        });
        frames = kept;
    }
    if (frames.empty()) return true;
    if (!firstAnswerFrame(framing, frames).empty()) _lastFrameAt = Clock::now();
    _answerChars += codePoints(answerText(frames));
    _ctx.bytesOut += frames.size();
    if (_capture) _capture->append(frames);
    return _client.writeStream(frames);
}

void Attempt::estimateUsageIfUnreported() {
    if (_ctx.usage.reported) return;
    _ctx.usage.promptTokens = estimatePromptTokens(_ctx.body);
    _ctx.usage.completionTokens = tokensForCodePoints(_answerChars);
    _ctx.usage.estimated = true;
}

void Attempt::failStream(const std::string& failure) {
    // Cut off by the end of a drain or by timeout.max_stream_s: the backend did nothing wrong.
    const bool draining = drain::ended();
    const bool tooLong = failure == kStreamTooLong;
    if (!draining && !tooLong) {
        _pipeline.logger("forwarder").warning("request %s: backend %s: %s", _ctx.requestId, _backend.name, failure);
        _upstream.metrics.streamFailures.inc();
        _pipeline.backendHealth().recordFailure(_backend.name, failure);
    }
    _connection->abort();
    _ctx.outcome = Outcome::UpstreamError;
    if (tooLong) _pipeline.logger("forwarder").notice("request %s: backend %s: %s", _ctx.requestId, _backend.name, failure);
    const auto frame = streamErrorFrame(_ctx.route.protocol, failure,
                                        draining ? "shutting_down" : tooLong ? "stream_too_long" : "upstream_stream_failed");
    _client.writeStream(frame);
    _client.endStream();
}

void Attempt::passBackClientError(ResponseReader& reader, int status) {
    std::string answer;
    try {
        while (answer.size() < 65536 && reader.readBody(answer, idleDeadline())) {}
    } catch (const UpstreamError&) {
        // The message is a courtesy; the status alone still says what happened.
    }
    finishServed();
    _ctx.status = status;
    _ctx.outcome = Outcome::BadRequest;
    _client.sendWhole(status, "application/json", errorBody(_ctx.route.protocol, status, upstreamMessage(answer, _backend)));
}

void Attempt::noteFirstByte() {
    const auto elapsed = Clock::now() - _start;
    _upstream.metrics.timeToFirstByte.observe(std::chrono::duration<double>(elapsed).count());
    _pipeline.backendHealth().recordFirstByte(_backend.name, servedModel(), elapsed);
}

void Attempt::finishServed() {
    _ctx.servedBackend = _backend.name;
    _ctx.servedModel = servedModel();
    _pipeline.backendHealth().recordSuccess(_backend.name);
    _upstream.metrics.outcome(UpstreamOutcome::Ok).inc();
}

std::optional<Failure> Attempt::clientWentAway() {
    _ctx.outcome = Outcome::ClientCancel;
    _connection->abort();
    return std::nullopt;
}
} // namespace

void readUsage(const nlohmann::json& answer, Usage& usage) {
    if (!answer.is_object()) return;
    auto count = [](const nlohmann::json& object, const char* key) -> std::uint64_t {
        auto it = object.find(key);
        return it != object.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
    };
    if (answer.contains("prompt_eval_count") || answer.contains("eval_count")) {
        usage.promptTokens = count(answer, "prompt_eval_count");
        usage.completionTokens = count(answer, "eval_count");
        usage.reported = true;
    } else if (auto it = answer.find("usage"); it != answer.end() && it->is_object()) {
        usage.promptTokens = count(*it, "prompt_tokens");
        usage.completionTokens = count(*it, "completion_tokens");
        usage.reported = true;
    }
}

Forwarder::Forwarder(MetricsRegistry& metrics) : _metrics(metrics) {}

void Forwarder::forward(Pipeline& pipeline, RequestContext& ctx, std::string_view body, ClientChannel& client) {
    std::optional<Failure> last;
    std::string lastBackend;
    std::vector<std::string> unreachable;  // backends that failed to connect or timed out
    bool protocolMismatch = false;
    for (const auto& candidate : ctx.plan.candidates) {
        auto* upstream = pipeline.upstream(candidate.backend);
        if (!upstream) continue;
        const auto& backend = upstream->backend();
        // A backend that failed this request for being unreachable or too
        // slow is not asked again for a later step of an alias chain.
        if (std::find(unreachable.begin(), unreachable.end(), backend.name) != unreachable.end()) continue;
        // Ollama calls with an OpenAI equivalent are translated for an
        // OpenAI-only provider (see Attempt); /api/show is answered here.
        if (backend.kind == BackendKind::OpenAI && ctx.route.kind == RouteKind::OllamaShow) {
            ctx.servedBackend = backend.name;
            ctx.servedModel = candidate.upstreamModel.empty() ? ctx.model : candidate.upstreamModel;
            ctx.status = 200;
            client.sendWhole(200, "application/json", ollamaShowFor(ctx.servedModel).dump());
            return;
        }
        if (backend.kind == BackendKind::OpenAI && ctx.route.protocol != Protocol::OpenAI && !translatableCall(ctx.route.kind)) {
            protocolMismatch = true;
            continue;
        }
        if (last) {
            ctx.failovers++;
            _metrics.counter("sluice_failover_total", "Times a request moved on from a failed backend to the next candidate.",
                             {{"from", lastBackend}, {"to", backend.name}, {"reason", std::string(outcomeLabel(last->kind))}})
                .inc();
        }
        std::optional<Failure> failure;
        const auto started = Clock::now();
        {
            InFlight inFlight(pipeline.backendHealth(), *upstream);
            failure = Attempt(pipeline, *upstream, ctx, candidate, client).run(body);
            if (!failure && ctx.servedBackend == backend.name)
                upstream->metrics.latency.observe(std::chrono::duration<double>(Clock::now() - started).count());
        }
        if (!failure) {
            if (ctx.servedBackend == backend.name) countServed(ctx);
            return;
        }
        // A timeout is the slowest answer of all: without this sample a backend
        // that only ever times out would stay "not yet timed", the latency
        // router's first choice.
        if (failure->kind == UpstreamOutcome::Timeout)
            pipeline.backendHealth().recordFirstByte(backend.name, candidate.upstreamModel.empty() ? ctx.model : candidate.upstreamModel,
                                                     Clock::now() - started);
        // A 404 says the model is not there, not that the backend is unwell:
        // it must not push the backend's other models down the plans.
        if (failure->kind != UpstreamOutcome::ModelNotFound) {
            const std::string kind(outcomeLabel(failure->kind));
            pipeline.backendHealth().recordFailure(backend.name, kind + ": " + healthSafe(failure->detail, backend, "(detail withheld)"));
        }
        upstream->metrics.outcome(failure->kind).inc();
        pipeline.logger("forwarder").warning("request %s: backend %s failed (%s); trying the next candidate",
                                             ctx.requestId, backend.name, failure->detail);
        last = failure;
        lastBackend = backend.name;
        if (failure->kind == UpstreamOutcome::ConnectError || failure->kind == UpstreamOutcome::Timeout)
            unreachable.push_back(backend.name);
    }

    // Nothing served it: one answer that names no backend, host or URL.
    ctx.outcome = Outcome::UpstreamError;
    std::string message = "no backend could serve the request";
    std::string code = "upstream_unavailable";
    int status = 503;
    if (!last && protocolMismatch) {
        status = 400;
        ctx.outcome = Outcome::BadRequest;
        message = "model '" + ctx.model + "' is only served through the OpenAI-compatible API (/v1/...)";
        code = "unsupported_protocol";
    } else if (last) {
        switch (last->kind) {
        case UpstreamOutcome::ConnectError: status = 502; message = "the backend is unreachable"; break;
        case UpstreamOutcome::Timeout: status = 504; message = "the backend timed out"; code = "upstream_timeout"; break;
        case UpstreamOutcome::Status5xx: case UpstreamOutcome::Broken: status = 502; message = "the backend failed"; code = "upstream_error"; break;
        case UpstreamOutcome::UpstreamAuth:
            status = 502;
            message = "the backend refused the gateway's credentials";
            code = "upstream_auth";
            break;
        case UpstreamOutcome::Status429: status = 429; message = "the backends are busy, retry later"; code = "rate_limit_exceeded"; break;
        case UpstreamOutcome::ModelNotFound:
            status = 404;
            message = ctx.route.protocol == Protocol::OpenAI ? "The model '" + ctx.model + "' does not exist"
                                                             : "model \"" + ctx.model + "\" not found, try pulling it first";
            code = "model_not_found";
            break;
        case UpstreamOutcome::Ok: break;  // a Failure is never Ok
        }
        if (last->kind == UpstreamOutcome::Status429)
            ctx.responseHeaders.emplace_back("Retry-After", last->retryAfter.empty() ? "1" : last->retryAfter);
    }
    ctx.status = status;
    client.sendWhole(status, "application/json", errorBody(ctx.route.protocol, status, message, code));
}

void Forwarder::countServed(const RequestContext& ctx) {
    _metrics.counter("sluice_model_requests_total", "Requests served, by backend and the model it served.",
                     {{"backend", ctx.servedBackend}, {"model", ctx.servedModel}})
        .inc();
    if (!ctx.plan.alias.empty())
        _metrics.counter("sluice_alias_resolved_total", "Requests for an alias, by the target that served them.",
                         {{"alias", ctx.plan.alias}, {"target", ctx.servedBackend + "/" + ctx.servedModel}})
            .inc();
}

} // namespace sluice::kernel
