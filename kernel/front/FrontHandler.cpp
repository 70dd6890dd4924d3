#include "FrontHandler.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <utility>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>

#include "../Logging.h"
#include "../audit/CapturingChannel.h"
#include "../audit/RecordBuilder.h"
#include "../dialect/ResponsesViaChat.h"
#include "../http/TraceContext.h"
#include "../translate/ResponsesOpenAi.h"
#include "ConsoleRoutes.h"
#include "OwnRoutes.h"
#include "PocoClientChannel.h"
#include "ReadDeadlines.h"
#include "RequestFields.h"
#include "RouteTable.h"
#include "RequestServer.h"
#include "ServerRequest.h"
#include "StageDriver.h"
#include "sluice/Json.h"

namespace sluice::kernel {

namespace {
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

bool saneRequestId(const std::string& id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' || c == '-')) return false;
    return true;
}

enum class BodyRead { Whole, TooLarge, TooSlow, Truncated, Malformed };

// Reads the body into `out` (or drops it when `out` is null), up to `limit`
// bytes and within server.body_timeout_s.
BodyRead readBody(ServerRequest& request, std::size_t limit, std::string* out) {
    // A request served on its I/O thread is all in (front/IoThreads): no
    // read can wait, and none is watched (arming a deadline costs a lock).
    const auto* parking = request.parkedRelays();
    auto deadline = parking && parking->servedOnLoop()
                        ? ReadDeadlines::Guard{}
                        : ReadDeadlines::instance().arm(request.socket().impl()->sockfd(), request.bodyDeadline());
    RequestBody::Status status = RequestBody::Status::Whole;
    try {
        status = out ? request.body().readAll(*out, limit) : request.body().discard(limit);
    } catch (const Poco::Exception&) {
        status = RequestBody::Status::Truncated;  // a reset, or the deadline's shutdown
    }
    deadline.disarm();
    if (deadline.fired()) return BodyRead::TooSlow;
    switch (status) {
    case RequestBody::Status::Whole: return BodyRead::Whole;
    case RequestBody::Status::TooLarge: return BodyRead::TooLarge;
    case RequestBody::Status::Truncated: return BodyRead::Truncated;
    case RequestBody::Status::Malformed: return BodyRead::Malformed;
    }
    return BodyRead::Malformed;
}

class RequestHandling {
public:
    RequestHandling(Gateway& gateway, ServerRequest& request, ServerResponse& response)
        : _gateway(gateway), _request(request), _response(response), _pipeline(gateway.pipeline()),
          _client(request, response, _ctx), _stages(*_pipeline, _ctx, _client) {
        _client.beforeAnswer([this] { settleBody(); });
        _client.beforeWholeAnswer([this] { _stages.releaseLimits(); });
    }

    void run();

private:
    void dispatch(const Classified& classified);
    // Reads, parses and checks the body of a call that goes to a backend, then
    // runs the stages and forwards it.
    void forward();
    // Reads the whole body (bounded by server.max_body_bytes and
    // server.body_timeout_s); false after answering why it could not.
    bool readWholeBody(std::string& body);
    // Parses and checks `body`, runs the stages (all, or past auth when the
    // principal is already known) and forwards it.
    void forwardBody(const std::string& body, bool authenticated);
    // /console: off (404) unless console.enabled; the playground's chat is
    // forwarded as the session's principal.
    void serveConsole();
    // Before any answer: the body not read yet is read and dropped (bounded),
    // so the connection can carry the client's next request; else the
    // answer says Connection: close.
    void settleBody();
    bool prepareForwardedRequest(const std::string& body);
    // A stage may rewrite the body (request shaping): what dialects read is
    // checked again, so a plugin's mistake is a 500, never a bad read.
    bool stagesKeptItSound();
    // Sluice stores no responses: a Responses request that continues one
    // (previous_response_id) is refused, unless its alias passes it on.
    bool continuationAllowed();
    void finish();
    // The finished request's record: the access log line, and the audit writers.
    void recordFinished();

    Gateway& _gateway;
    ServerRequest& _request;
    ServerResponse& _response;
    std::shared_ptr<Pipeline> _pipeline;
    RequestContext _ctx;
    PocoClientChannel _client;
    StageDriver _stages;
    std::optional<CapturingChannel> _capturing;  // what the client was sent, when the principal logs prompts
    std::string _scheme = "http";  // as the client reached us, for the access line
};

void RequestHandling::run() {
    _ctx.method = _request.getMethod();
    const auto& uri = _request.getURI();
    _ctx.path = uri.substr(0, uri.find('?'));
    for (const auto& [name, value] : _request) _ctx.headers.emplace_back(Poco::toLower(name), value);
    // Every X-Forwarded-For line, in order: a proxy may add its own line
    // rather than append to the client's, and only the right end is trusted.
    std::string forwardedFor;
    for (const auto& [name, value] : _ctx.headers)
        if (name == "x-forwarded-for") forwardedFor += (forwardedFor.empty() ? "" : ",") + value;
    // How the client reached us: over our TLS, or as a trusted proxy says
    // (X-Forwarded-Proto is believed from server.trusted_proxies only).
    const auto& peer = _request.clientAddress().host();
    _ctx.peerAddress = peer.toString();
    _ctx.viaTrustedProxy = _pipeline->settings().trustedProxies.trusts(peer);
    _scheme = _request.secure() ? "https" : "http";
    if (const auto* proto = _ctx.header("x-forwarded-proto");
        proto && (*proto == "https" || *proto == "http") && _ctx.viaTrustedProxy)
        _scheme = *proto;
    _ctx.clientAddress = _pipeline->settings().trustedProxies.clientAddress(peer, forwardedFor.empty() ? nullptr : &forwardedFor);
    _ctx.requestId = chooseRequestId(_ctx.header("x-request-id"));
    const RequestLogScope logScope(_ctx.requestId);  // every line logged below names the request

    const auto classified = classify(_ctx.method, _ctx.path);
    _ctx.route = classified.route;
    // Anthropic's clients list models at the same path as OpenAI's, and say
    // who they are by their version header: they get Anthropic's shapes.
    const bool modelList = _ctx.route.kind == RouteKind::OpenAIModels || _ctx.route.kind == RouteKind::OpenAIModel;
    if (modelList && _ctx.header("anthropic-version")) _ctx.route.protocol = Protocol::Anthropic;
    // A page of an allowed origin may read every answer, errors included;
    // never the console's, which only its own pages read.
    const auto& cors = _pipeline->settings().cors;
    const auto* origin = _ctx.header("origin");
    if (origin && cors.allows(*origin) && _ctx.route.kind != RouteKind::Console)
        for (auto& header : cors.answerHeaders(*origin)) _ctx.responseHeaders.push_back(std::move(header));
    auto& inFlight = _gateway.metrics().gauge("sluice_requests_in_flight", "Client requests being served.");
    inFlight.add(1);
    struct Leave { Gauge& gauge; ~Leave() { gauge.add(-1); } } leave{inFlight};

    // Whatever fails below, the client gets an answer and the request is
    // accounted (a limits lease taken is always released in finish()).
    try {
        dispatch(classified);
    } catch (const std::exception& e) {
        _pipeline->logger("kernel").error("request %s failed: %s", _ctx.requestId, std::string(e.what()));
        _ctx.outcome = Outcome::InternalError;
        if (!_client.sent()) {
            _client.replyError(500, "internal error", "internal_error");
        } else {
            _response.setKeepAlive(false);  // a stream broken off half-way: start the next request afresh
            if (_ctx.status == 0) _ctx.status = 500;
        }
    }
    finish();
}

void RequestHandling::dispatch(const Classified& classified) {
    if (_ctx.method == "OPTIONS" && _ctx.header("origin") && _ctx.header("access-control-request-method")) {
        OwnRoutes(_gateway, *_pipeline, _ctx, _client, _stages).answerPreflight();
    } else if (_ctx.route.kind == RouteKind::Unknown) {
        _ctx.outcome = Outcome::BadRequest;
        _client.replyError(404, "no such route: " + _ctx.method + " " + _ctx.path.substr(0, 200), "unknown_route");
    } else if (_ctx.route.kind == RouteKind::Console) {
        serveConsole();
    } else if (_ctx.route.kind == RouteKind::Management) {
        _ctx.outcome = Outcome::RefusedPolicy;
        _client.replyError(403, "model management is not available through the gateway", "forbidden");
    } else if (!classified.methodAllowed) {
        _ctx.outcome = Outcome::BadRequest;
        _response.set("Allow", std::string(_ctx.route.method));
        _client.replyError(405, "method " + _ctx.method + " is not allowed on " + std::string(_ctx.route.name), "method_not_allowed");
    } else if (_ctx.route.forwarded) {
        forward();
    } else {
        OwnRoutes(_gateway, *_pipeline, _ctx, _client, _stages).serve(classified.modelId);
    }
}

void RequestHandling::forward() {
    std::string body;
    if (readWholeBody(body)) forwardBody(body, false);
}

bool RequestHandling::readWholeBody(std::string& body) {
    const auto read = readBody(_request, _pipeline->settings().maxBodyBytes, &body);
    // Every refusal of the body below leaves it unread to its end: the
    // connection cannot carry another request (finish() lingers, then it closes).
    if (read != BodyRead::Whole) {
        _response.setKeepAlive(false);
        _ctx.outcome = Outcome::BadRequest;
    }
    if (read == BodyRead::TooSlow) {
        _client.replyError(408, "the request body did not arrive in time", "request_timeout");
    } else if (read == BodyRead::TooLarge) {
        _client.replyError(413, "request body is larger than " + std::to_string(_pipeline->settings().maxBodyBytes) + " bytes",
                           "request_too_large");
    } else if (read == BodyRead::Truncated) {
        _client.replyError(400, "the request body ended before its length or its last chunk", "incomplete_body");
    } else if (read == BodyRead::Malformed) {
        _client.replyError(400, "malformed chunked request body: " + _request.body().error(), "bad_request");
    }
    return read == BodyRead::Whole;
}

void RequestHandling::forwardBody(const std::string& body, bool authenticated) {
    if (prepareForwardedRequest(body) && _stages.run(authenticated) && stagesKeptItSound() && continuationAllowed()) {
        // Prompt logging: what the client is sent is kept, for this request only.
        if (_pipeline->auditing() && _ctx.principal->logPrompts) {
            _capturing.emplace(_client, _pipeline->auditSettings().maxPromptBytes);
            _gateway.forward(*_pipeline, _ctx, body, *_capturing);
        } else {
            _gateway.forward(*_pipeline, _ctx, body, _client);
        }
    }
}

void RequestHandling::serveConsole() {
    auto* console = _gateway.console();
    if (!console) {
        _ctx.outcome = Outcome::BadRequest;
        _client.replyError(404, "no such route: " + _ctx.method + " " + _ctx.path.substr(0, 200), "unknown_route");
        return;
    }
    std::string body;
    if (_ctx.method == "POST" && !readWholeBody(body)) return;
    ConsoleRoutes routes(*console, _gateway, *_pipeline, _ctx, _client, _stages, _request.getURI(), _scheme == "https");
    if (routes.serve(body) != ConsoleRoutes::Next::ForwardChat) return;
    // The playground: a chat completion like any other, as the operator.
    _ctx.route = classify("POST", "/v1/chat/completions").route;
    forwardBody(body, true);
}

bool RequestHandling::stagesKeptItSound() {
    if (!_ctx.bodyChanged) return true;
    const auto problem = requestProblem(_ctx.body, _ctx.route);
    if (!problem) return true;
    _pipeline->logger("kernel").error("request %s: a stage rewrote the body into one its route refuses: %s", _ctx.requestId, *problem);
    _ctx.outcome = Outcome::UpstreamError;
    _client.replyError(500, "the gateway's pipeline left the request malformed", "stage_error");
    return false;
}

bool RequestHandling::continuationAllowed() {
    if (_ctx.route.kind != RouteKind::OpenAIResponses || !continuesPreviousResponse(_ctx.body)) return true;
    const auto* alias = _ctx.plan.alias.empty() ? nullptr : _pipeline->aliases().find(_ctx.plan.alias);
    if (alias && alias->passPreviousResponse) return true;
    _ctx.outcome = Outcome::BadRequest;
    _client.replyError(400, kStatelessMessage, "previous_response_not_supported");
    return false;
}

void RequestHandling::settleBody() {
    if (_request.body().finished() || !_response.getKeepAlive()) return;
    if (readBody(_request, _pipeline->settings().maxBodyBytes, nullptr) != BodyRead::Whole) _response.setKeepAlive(false);
}

bool RequestHandling::prepareForwardedRequest(const std::string& body) {
    _ctx.bytesIn = body.size();
    const auto parsed = parseJson(body, _ctx.body);
    if (parsed == JsonParse::TooDeep) {
        _ctx.outcome = Outcome::BadRequest;
        _ctx.body = nullptr;
        _client.replyError(400, "the request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels", "json_too_deep");
        return false;
    }
    if (parsed != JsonParse::Ok || !_ctx.body.is_object()) {
        _ctx.outcome = Outcome::BadRequest;
        _ctx.body = nullptr;
        _client.replyError(400, "the request body is not a JSON object", "invalid_json");
        return false;
    }
    if (const auto wrong = requestProblem(_ctx.body, _ctx.route)) {
        _ctx.outcome = Outcome::BadRequest;
        // The agents' doors check the whole request, not only field types.
        const bool whole = _ctx.route.protocol == Protocol::Anthropic || _ctx.route.protocol == Protocol::OpenAIResponses;
        _client.replyError(400, *wrong, whole ? "invalid_request" : "invalid_field_type");
        return false;
    }
    const auto model = _ctx.body.find("model");
    // Ollama's older clients send "name" to /api/show.
    const auto name = _ctx.body.find("name");
    if (model != _ctx.body.end() && model->is_string()) _ctx.model = model->get<std::string>();
    else if (_ctx.route.kind == RouteKind::OllamaShow && name != _ctx.body.end() && name->is_string())
        _ctx.model = name->get<std::string>();
    // A request without a model takes aliases.default, on the routes where
    // "the usual model" makes sense: chat and completions, not embeddings.
    const bool mayDefault = _ctx.route.streamable && (model == _ctx.body.end() || model->is_null());
    if (_ctx.model.empty() && mayDefault && !_pipeline->aliases().fallback().empty()) {
        _ctx.model = _pipeline->aliases().fallback();
        _ctx.body["model"] = _ctx.model;
        _ctx.bodyChanged = true;
    }
    if (_ctx.model.empty()) {
        _ctx.outcome = Outcome::BadRequest;
        _client.replyError(400, "model is required", "model_required");
        return false;
    }
    // No model or alias is named at such length; the audit trail indexes
    // the name, and an index entry has a bounded size (PostgreSQL's btree).
    if (_ctx.model.size() > kMaxModelNameBytes) {
        _ctx.outcome = Outcome::BadRequest;
        _ctx.model.clear();
        _client.replyError(400, "model names are at most " + std::to_string(kMaxModelNameBytes) + " bytes", "model_too_long");
        return false;
    }
    if (_ctx.route.streamable) {
        const auto stream = _ctx.body.find("stream");
        const bool defaultStream = _ctx.route.protocol == Protocol::Ollama;  // Ollama streams unless told not to
        _ctx.stream = stream != _ctx.body.end() && stream->is_boolean() ? stream->get<bool>() : defaultStream;
    }
    return true;
}

void RequestHandling::finish() {
    _stages.releaseLimits();
    if (_client.sent() && !_request.body().finished()) _request.lingerBeforeClose();
    if (!_client.sent() && _ctx.outcome == Outcome::ClientCancel) _response.setKeepAlive(false);
    auto& metrics = _gateway.metrics();
    const std::string route(_ctx.route.name);
    metrics.counter("sluice_requests_total", "Client requests by route and status.",
                    {{"route", route}, {"status", std::to_string(_ctx.status)}}).inc();
    if (!_ctx.servedBackend.empty() && (_ctx.usage.promptTokens > 0 || _ctx.usage.completionTokens > 0)) {
        // Who used what where: the usage page's counters (estimated counts included, as in the audit record).
        const MetricLabels used{{"backend", _ctx.servedBackend},
                                {"model", _ctx.servedModel},
                                {"tenant", _ctx.principal ? _ctx.principal->tenant : std::string()}};
        metrics.counter("sluice_prompt_tokens_total", "Tokens in: prompts served, by backend, model and tenant.", used)
            .inc(_ctx.usage.promptTokens);
        metrics.counter("sluice_completion_tokens_total", "Tokens out: answers served, by backend, model and tenant.", used)
            .inc(_ctx.usage.completionTokens);
    }
    if (_ctx.route.forwarded)
        metrics.histogram("sluice_request_duration_seconds", "Time from a request's arrival to the end of its answer.",
                          {{"route", route}})
            .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - _ctx.startedAt).count());
    recordFinished();
}

void RequestHandling::recordFinished() {
    // The probes and the metrics scrape are not requests anyone audits or logs.
    const auto kind = _ctx.route.kind;
    // Nor Ollama's heartbeat, which its CLI sends before every command.
    if (kind == RouteKind::Healthz || kind == RouteKind::Readyz || kind == RouteKind::Metrics || kind == RouteKind::OllamaRoot)
        return;
    // Nor the console's pages and reads (its overview polls); its changes
    // are, besides their line in the operators' trail.
    if (kind == RouteKind::Console && _ctx.method != "POST") return;
    const bool audited = _pipeline->auditing();
    const bool logged = _pipeline->settings().accessLog;
    if (!audited && !logged) return;
    try {
        auto entry = buildAuditEntry(_ctx, _pipeline->auditSettings().maxPromptBytes, _capturing ? _capturing->take() : std::string());
        if (logged) logAccess(entry.record, _scheme, traceHeaders(_ctx.headers));  // it leaves out prompt and answer
        if (audited) _pipeline->audit(std::move(entry));
    } catch (const std::exception& e) {
        _pipeline->logger("kernel").error("request %s: no audit record: %s", _ctx.requestId, std::string(e.what()));
    }
}
} // namespace

std::string chooseRequestId(const std::string* offered) {
    if (offered && saneRequestId(*offered)) return *offered;
    // 32 hex digits: the first 12 are the milliseconds since the epoch (as in
    // a UUIDv7), the other 20 random. Ids made here sort by time, so each
    // audit row's key lands at the right edge of its index: a batch dirties a
    // few pages, where random keys dirtied about one page per row (1.4 page
    // writes per request at 1,000/s). 80 random bits a millisecond keep them
    // unique.
    thread_local std::mt19937_64 random{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(32, '0');
    const auto ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    for (std::size_t j = 0; j < 12; ++j) id[11 - j] = kHex[(ms >> (4 * j)) & 15];
    auto bits = random();
    for (std::size_t j = 12; j < 28; ++j, bits >>= 4) id[j] = kHex[bits & 15];
    bits = random();
    for (std::size_t j = 28; j < 32; ++j, bits >>= 4) id[j] = kHex[bits & 15];
    return id;
}

void FrontHandler::handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) {
    // Sluice's own connections make only ServerRequests (RequestServer).
    auto* own = dynamic_cast<ServerRequest*>(&request);
    auto* ownResponse = dynamic_cast<ServerResponse*>(&response);
    if (!own || !ownResponse) throw std::logic_error("FrontHandler serves ServerRequests only");
    RequestHandling(_gateway, *own, *ownResponse).run();
}

} // namespace sluice::kernel
