#include "Attempt.h"

#include <Poco/Logger.h>
#include <Poco/String.h>

#include "AnswerBudget.h"
#include "DeclinedRequest.h"
#include "net/DrainDeadline.h"
#include "audit/AnswerCapture.h"
#include "dialect/Usage.h"
#include "http/TraceContext.h"
#include "sluice/BackendFetch.h"
#include "sluice/Json.h"
#include "sluice/TokenEstimate.h"

namespace sluice::kernel {

namespace {
constexpr std::size_t kMaxWholeBody = 64 * 1024 * 1024;
constexpr std::size_t kMaxErrorMessage = 300;
constexpr const char* kAnswersFull = "the gateway holds too many large answers at once; retry shortly";

// What a stream's error frame says when the backend's side ended it.
const std::string kStreamTooLong = "the stream ran past timeout.max_stream_s";

std::string requestHead(const Backend& backend, const RequestContext& ctx, const UpstreamRequest& request,
                        std::size_t bodyLength) {
    std::string head;
    head.reserve(512);
    const bool ipv6 = backend.host.find(':') != std::string::npos;
    head += ctx.method + ' ' + request.path + " HTTP/1.1\r\nHost: " +
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
    for (const auto& [name, value] : request.headers) head += name + ": " + value + "\r\n";
    for (const auto& [name, value] : traceHeaders(ctx.headers)) head += name + ": " + value + "\r\n";
    head += "\r\n";
    return head;
}

// The upstream's error message for a 4xx passed back to the client.
std::string upstreamMessage(const std::string& body) {
    const auto json = parseJson(body);
    if (json.is_object() && json.contains("error")) {
        const auto& error = json["error"];
        if (error.is_string()) return error.get<std::string>();
        if (error.is_object() && error.contains("message") && error["message"].is_string())
            return error["message"].get<std::string>();
    }
    return {};
}

// Whether stream frames begin a tool call ("tool_calls": [{…}] in Ollama's
// and OpenAI's chat, or OpenAI's legacy "function_call"), whatever the
// spacing the server's JSON writer uses.
bool carriesToolCall(std::string_view bytes) {
    if (bytes.find("\"function_call\"") != std::string_view::npos) return true;
    static constexpr std::string_view kKey = "\"tool_calls\"";
    for (auto at = bytes.find(kKey); at != std::string_view::npos; at = bytes.find(kKey, at + 1)) {
        auto rest = bytes.substr(at + kKey.size());
        auto skip = [&](char expected) {
            while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
            if (rest.empty() || rest.front() != expected) return false;
            rest.remove_prefix(1);
            return true;
        };
        if (skip(':') && skip('[') && skip('{')) return true;
    }
    return false;
}

// One request in flight to one backend, counted for least-busy routing.
class InFlight {
public:
    InFlight(BackendHealth& health, Upstream& upstream, const std::string& model)
        : _health(health), _upstream(upstream), _model(model), _trials(_health.beginRequest(_upstream.backend().name, model)) {
        _upstream.metrics.inFlight.add(1);
    }
    ~InFlight() {
        _health.endRequest(_upstream.backend().name, _model, _trials);
        _upstream.metrics.inFlight.add(-1);
    }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

private:
    BackendHealth& _health;
    Upstream& _upstream;
    const std::string& _model;
    Trials _trials;  // the half-open circuits this attempt is the trial of
};
} // namespace

Attempt::Attempt(const ForwardingServices& services, Upstream& upstream, const Dialect& dialect, RequestContext& ctx,
                 const std::string& servedModel, ClientChannel& client, const Terms& terms,
                 const BrokenStream* continuing)
    : _services(services), _upstream(upstream), _backend(upstream.backend()), _dialect(dialect), _ctx(ctx),
      _servedModel(servedModel), _client(client), _terms(terms), _continuing(continuing), _start(Clock::now()),
      _streamEnd(services.maxStream.count() > 0 ? std::optional<Clock::time_point>(ctx.startedAt + services.maxStream)
                                                : std::nullopt) {}

std::optional<Failure> Attempt::run(std::string_view body) {
    const InFlight inFlight(_services.health, _upstream, _servedModel);
    // A failed attempt spent nothing the client is charged for.
    _ctx.usage = {};
    for (bool firstTry = true;; firstTry = false) {
        try {
            auto failure = exchange(body, firstTry);
            // Served, whole or cut mid-stream: the tokens were spent either way.
            if (!failure && _ctx.status >= 200 && _ctx.status < 300) estimateUsageIfUnreported();
            return failure;
        } catch (const StageThreadsBusy& busy) {
            // A connect or a TLS backend's records found no stage thread
            // (ClientChannel::offLoop): the next backend would fare no better.
            if (_continuing) return Failure{UpstreamOutcome::Broken, busy.what(), {}};
            answerBusy("the gateway is busy; try again", "server_busy");
            return std::nullopt;
        } catch (const UpstreamError& error) {
            if (error.kind() == UpstreamError::Kind::ClientGone) {
                _ctx.outcome = Outcome::ClientCancel;
                // A continuation's client has its 200: what the parts before spent still counts.
                if (_continuing) addEarlierParts();
                else _ctx.status = 499;
                return std::nullopt;
            }
            // The client's stream is open: no whole answer can be sent on it;
            // the forwarder ends it with the first break's error frame.
            if (_continuing && (error.kind() == UpstreamError::Kind::Draining || error.kind() == UpstreamError::Kind::Overloaded))
                return Failure{UpstreamOutcome::Broken, error.what(), {}};
            if (error.kind() == UpstreamError::Kind::Draining || error.kind() == UpstreamError::Kind::Overloaded) {
                answerGatewayBusy(error);
                return std::nullopt;
            }
            // A pooled connection the backend closed while idle breaks before
            // any answer byte: try once more on a fresh one, not another backend.
            const bool staleConnection = _reused && !_answered && error.kind() == UpstreamError::Kind::Closed;
            if (firstTry && staleConnection) continue;
            auto failure = failureFrom(error, _answered);
            // Cut by timeout.request_ms, not by the backend's own wait: says nothing of the model.
            failure.requestDeadline = error.kind() == UpstreamError::Kind::Timeout && Clock::now() >= _terms.deadline;
            return failure;
        }
    }
}

void Attempt::answerGatewayBusy(const UpstreamError& error) {
    if (error.kind() == UpstreamError::Kind::Draining) return answerBusy("the gateway is shutting down", "shutting_down");
    _services.log.warning("request %s: backend %s: %s; answered 503", _ctx.requestId, _backend.name, std::string(error.what()));
    answerBusy(error.clientMessage().empty() ? "the gateway is busy; retry shortly" : error.clientMessage(), "gateway_busy");
}

void Attempt::answerBusy(const std::string& message, const std::string& code) {
    // Not the backend's fault, and another backend would fare no better: answer now.
    if (_connection) _connection->abort();
    _ctx.outcome = Outcome::UpstreamError;
    _ctx.status = 503;
    _ctx.responseHeaders.emplace_back("Retry-After", "1");
    _client.sendWhole(503, "application/json", _dialect.errorBody(503, message, code));
}

std::optional<Failure> Attempt::exchange(std::string_view body, bool allowReuse) {
    auto& pool = _upstream.pool;
    _connection = allowReuse ? pool.takeIdle() : nullptr;
    _reused = _connection != nullptr;
    if (!_connection) _connection = pool.open(&_client);

    const auto request = _dialect.request(call(body));
    const std::string_view sent = request.body ? std::string_view(*request.body) : body;
    _connection->sendAll(requestHead(_backend, _ctx, request, sent.size()) + std::string(sent),
                         Clock::now() + _backend.connectTimeout + std::chrono::seconds(10), &_client);

    ResponseReader reader(*_connection, _client.socketFd(), &_client);
    try {
        reader.readHead(firstByteDeadline());
    } catch (const UpstreamError&) {
        _answered = reader.receivedAny();
        throw;
    }
    _answered = true;  // an answer came back: no silent retry from here on
    const auto& head = reader.head();

    if (head.status == 429) {
        const auto* retry = head.header("retry-after");
        auto failure = statusFailure(UpstreamOutcome::Status429, 429, retry ? *retry : std::string());
        failure.saturated = true;
        return failure;
    }
    if (head.status == 503) {
        const auto* retry = head.header("retry-after");
        auto failure = statusFailure(UpstreamOutcome::Status5xx, 503, retry ? *retry : std::string());
        failure.saturated = saysServerBusy(reader);
        return failure;
    }
    if (head.status >= 500) return statusFailure(UpstreamOutcome::Status5xx, head.status);
    if (head.status == 404) return Failure{UpstreamOutcome::ModelNotFound, "answered 404", {}};
    // 401/403: the backend refused *our* credential (an expired provider
    // key): a gateway problem, not the client's, and the next candidate may serve.
    if (head.status == 401 || head.status == 403) {
        _services.log.error("backend %s refused the gateway's credentials (%d)", _backend.name, int(head.status));
        return Failure{UpstreamOutcome::UpstreamAuth, "answered " + std::to_string(head.status), {}};
    }
    // A redirect is not an answer a gateway can pass on (it would point the
    // client at the backend): count it as a failed backend.
    if (head.status >= 300 && head.status < 400) return Failure{UpstreamOutcome::Broken, "answered " + std::to_string(head.status), {}};
    if (head.status >= 400) return clientError(reader, head.status);

    // Asked for identity; a backend that compresses anyway cannot be relayed
    // (the client would get the compressed bytes without their header).
    if (const auto* encoding = head.header("content-encoding"); encoding && Poco::icompare(*encoding, "identity") != 0)
        return Failure{UpstreamOutcome::Broken, "answered with Content-Encoding " + encoding->substr(0, 40), {}};
    const auto* type = head.header("content-type");
    const std::string contentType = type ? *type : "application/json";
    if (auto plan = _dialect.stream(call(), contentType, _start)) return relayStream(reader, *plan);
    if (_continuing) return Failure{UpstreamOutcome::Broken, "answered a continuation with a whole answer", {}};
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
        if (!hold.growTo(*length)) throw UpstreamError(UpstreamError::Kind::Overloaded, "limits.answer_buffer_bytes is spent", kAnswersFull);
        answer.reserve(*length);
    }
    while (reader.readBody(answer, idleDeadline())) {
        if (answer.size() > kMaxWholeBody) return Failure{UpstreamOutcome::Broken, "answer larger than 64 MiB", {}};
        if (!hold.growTo(answer.capacity()))
            throw UpstreamError(UpstreamError::Kind::Overloaded, "limits.answer_buffer_bytes is spent", kAnswersFull);
    }

    noteFirstByte();
    const auto* type = reader.head().header("content-type");
    AnswerJson parsed(std::move(answer));
    // Every route the gateway forwards answers JSON: anything else (an HTML
    // error page with 200, a body cut off by the backend's close) is not an answer.
    if (!parsed.valid())
        return Failure{UpstreamOutcome::Broken, reader.closeDelimited() ? "answer cut off" : "the answer is not JSON", {}};
    auto whole = _dialect.whole(call(), parsed, type ? *type : "application/json", Clock::now() - _start);
    if (!whole) return Failure{UpstreamOutcome::Broken, "the answer is not an answer to the call", {}};
    if (whole->usage.reported) _ctx.usage = whole->usage;
    else _answerChars = codePoints(answerText(whole->body));
    _ctx.status = reader.head().status;
    finishServed();
    _client.sendWhole(_ctx.status, whole->contentType, whole->body);
    _ctx.firstByteAt = Clock::now();
    _ctx.bytesOut += whole->body.size();
    if (reader.reusable()) _upstream.pool.giveBack(std::move(_connection));
    return std::nullopt;
}

void Attempt::countDelivered(std::string_view bytes) {
    auto text = answerText(bytes);
    _answerChars += codePoints(text);
    _ctx.bytesOut += bytes.size();
    if (!mayContinue()) return;
    // A tool call cannot be carried by a text prefill.
    if (_textOnly && carriesToolCall(bytes)) _textOnly = false;
    _text += text;
}

void Attempt::estimateUsageIfUnreported() {
    if (_ctx.usage.reported || _ctx.usage.estimated) return;
    _ctx.usage.promptTokens = estimatePromptTokens(_ctx.body);
    _ctx.usage.completionTokens = tokensForCodePoints(_answerChars);
    _ctx.usage.estimated = true;
}

std::string Attempt::midStreamFailureOf(const UpstreamError& error) const {
    if (error.kind() == UpstreamError::Kind::Timeout && _streamEnd && Clock::now() >= *_streamEnd) return kStreamTooLong;
    switch (error.kind()) {
    case UpstreamError::Kind::Timeout: return "the backend stalled mid-stream";
    case UpstreamError::Kind::Draining: return "the gateway is shutting down";
    default: return "the backend's stream broke off";
    }
}

std::string Attempt::clientSafeMessage(std::string message) const {
    message = backendSafeLine(std::move(message), _backend);
    if (message.empty() || revealsBackend(message, _backend)) message = "the backend rejected the request";
    cutUtf8(message, kMaxErrorMessage);
    return message;
}

void Attempt::noteStreamFailure(const std::string& failure) {
    _services.log.warning("request %s: backend %s: %s", _ctx.requestId, _backend.name, failure);
    _upstream.metrics.streamFailures.inc();
    _services.health.recordModelFailure(_backend.name, _servedModel, failure);
}

bool Attempt::mayContinue() const {
    return _terms.alias && _terms.alias->continueStreams &&
           (_ctx.route.kind == RouteKind::OllamaChat || _ctx.route.kind == RouteKind::OpenAIChat);
}

std::optional<Failure> Attempt::keepOpenForContinuation(const std::string& failure) {
    if (!mayContinue() || !_textOnly || drain::ended() || failure == kStreamTooLong) return std::nullopt;
    noteStreamFailure(failure);
    _connection->abort();
    estimateUsageIfUnreported();
    BrokenStream broken = _continuing ? *_continuing : BrokenStream{&_dialect, failure, {}, {}};
    broken.text += _text;
    addUsage(broken.usage, _ctx.usage);
    Failure kept{UpstreamOutcome::Broken, failure, {}};
    kept.broken = std::move(broken);
    return kept;
}

void Attempt::addEarlierParts() {
    if (!_continuing || _earlierAdded) return;
    _earlierAdded = true;
    estimateUsageIfUnreported();
    addUsage(_ctx.usage, _continuing->usage);
}

void Attempt::failStream(const std::string& failure, StreamFilter& filter) {
    // Cut off by the end of a drain or by timeout.max_stream_s: the backend did nothing wrong.
    const bool draining = drain::ended();
    const bool tooLong = failure == kStreamTooLong;
    if (!draining && !tooLong) noteStreamFailure(failure);
    _connection->abort();
    addEarlierParts();
    _ctx.outcome = Outcome::UpstreamError;
    if (tooLong) _services.log.notice("request %s: backend %s: %s", _ctx.requestId, _backend.name, failure);
    const std::string code = draining ? "shutting_down" : tooLong ? "stream_too_long" : "upstream_stream_failed";
    const auto own = filter.failureFrame(failure, code);
    _client.writeStream(own ? *own : _dialect.streamErrorFrame(failure, code));
    _client.endStream();
}

bool Attempt::saysServerBusy(ResponseReader& reader) {
    // Ollama: {"error":"server busy, please try again.  maximum pending requests exceeded"}.
    std::string answer;
    try {
        while (answer.size() < 4096 && reader.readBody(answer, idleDeadline())) {}
    } catch (const UpstreamError&) {
        return false;  // what it said is lost: an ordinary 503
    }
    return upstreamMessage(answer).find("server busy") != std::string::npos;
}

std::optional<Failure> Attempt::clientError(ResponseReader& reader, int status) {
    std::string answer;
    try {
        while (answer.size() < 65536 && reader.readBody(answer, idleDeadline())) {}
    } catch (const UpstreamError&) {
        // The message is a courtesy; the status alone still says what happened.
    }
    const auto message = clientSafeMessage(upstreamMessage(answer));
    // The client's stream is open: a refused continuation is not an answer
    // to pass on (the client hears the first part's failure instead).
    if (_continuing) return Failure{UpstreamOutcome::Declined, "refused the continuation (" + std::to_string(status) + ")", {}};
    if (_terms.alias) {
        if (const auto declined = declinedClassOf(status, answer); declined && _terms.alias->fallsBackOn(*declined)) {
            Failure failure{UpstreamOutcome::Declined,
                            "answered " + std::to_string(status) +
                                (*declined == FallbackOn::ContextLength ? " (context length)" : " (content filter)"),
                            {}};
            failure.clientStatus = status;
            failure.clientMessage = message;
            failure.clientCode = *declined == FallbackOn::ContextLength ? "context_length_exceeded" : "content_policy_violation";
            return failure;
        }
    }
    finishServed();
    _ctx.status = status;
    _ctx.outcome = Outcome::BadRequest;
    _client.sendWhole(status, "application/json", _dialect.errorBody(status, message, {}));
    return std::nullopt;
}

Attempt::Clock::time_point Attempt::firstByteDeadline() const {
    // Ollama says which models are in memory (/api/ps, polled by discovery);
    // other kinds say nothing, and are taken as ready.
    const bool cold = _backend.kind == BackendKind::Ollama && !_services.catalog->isLoaded(_backend.name, _servedModel);
    const auto wait = _ctx.stream && !cold ? _backend.firstByteTimeout : _backend.coldLoadTimeout;
    return std::min(_start + wait, _terms.deadline);
}

void Attempt::noteFirstByte() {
    const auto elapsed = Clock::now() - _start;
    _upstream.metrics.timeToFirstByte.observe(std::chrono::duration<double>(elapsed).count());
    _services.health.recordFirstByte(_backend.name, _servedModel, elapsed);
}

void Attempt::finishServed() {
    if (_continuing) {
        // The client was told who began the answer; the audit says who finished it.
        _ctx.continuedBy += (_ctx.continuedBy.empty() ? "" : ", ") + _backend.name + "/" + _servedModel;
    } else {
        _ctx.servedBackend = _backend.name;
        _ctx.servedModel = _servedModel;
    }
    _services.health.recordSuccess(_backend.name, _servedModel);
    _upstream.metrics.outcome(UpstreamOutcome::Ok).inc();
}

std::optional<Failure> Attempt::clientWentAway() {
    _ctx.outcome = Outcome::ClientCancel;
    addEarlierParts();
    _connection->abort();
    return std::nullopt;
}

} // namespace sluice::kernel
