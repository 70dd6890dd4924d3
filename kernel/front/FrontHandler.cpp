#include "FrontHandler.h"

#include <cmath>
#include <functional>
#include <random>
#include <utility>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>

#include "../Logging.h"
#include "../audit/AnswerCapture.h"
#include "../audit/RecordBuilder.h"
#include "ErrorBody.h"
#include "ModelLists.h"
#include "ReadDeadlines.h"
#include "RequestFields.h"
#include "RouteTable.h"
#include "ServerConnection.h"
#include "ServerRequest.h"
#include "sluice/Json.h"

namespace sluice::kernel {

namespace {
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

// Adapts Poco's response to the forwarder, adding the headers every answer carries.
class PocoClientChannel final : public ClientChannel {
public:
    PocoClientChannel(ServerRequest& request, HTTPServerResponse& response, RequestContext& ctx)
        : _response(response), _ctx(ctx) {
        try {
            _fd = request.socket().impl()->sockfd();
        } catch (...) {
            _fd = -1;
        }
    }

    int socketFd() const override { return _fd; }

    // Runs once, just before any answer's head is made (whole or stream).
    void beforeAnswer(std::function<void()> hook) { _beforeAnswer = std::move(hook); }

    // Runs once, just before a whole answer's bytes go out.
    void beforeWholeAnswer(std::function<void()> hook) { _beforeWhole = std::move(hook); }

    void sendWhole(int status, const std::string& contentType, std::string_view body) override {
        // The limits stage gives its lease back first: a client that sends its
        // next request the moment it reads this answer must find it free.
        if (_beforeWhole) std::exchange(_beforeWhole, nullptr)();
        prepare(status, contentType);
        _response.setContentLength64(static_cast<Poco::Int64>(body.size()));
        _response.sendBuffer(body.data(), body.size());
        _sent = true;
    }

    bool startStream(int status, const std::string& contentType) override {
        prepare(status, contentType);
        _response.setChunkedTransferEncoding(true);
        _response.set("Cache-Control", "no-cache");
        _out = &_response.send();
        _sent = true;
        return _out->good();
    }

    bool writeStream(std::string_view bytes) override {
        if (!_out || _out->bad()) return false;
        _out->write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        _out->flush();
        return !_out->bad();
    }

    void endStream() override {
        if (_out && !_out->bad()) _out->flush();
    }

    bool sent() const { return _sent; }

private:
    void prepare(int status, const std::string& contentType) {
        if (_beforeAnswer) std::exchange(_beforeAnswer, nullptr)();
        _response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
        _response.setContentType(contentType);
        _response.set("X-Request-ID", _ctx.requestId);
        if (!_ctx.servedBackend.empty()) {
            _response.set("X-Sluice-Backend", _ctx.servedBackend);
            _response.set("X-Sluice-Model", _ctx.servedModel);
        }
        for (const auto& [name, value] : _ctx.responseHeaders) _response.set(name, value);
    }

    HTTPServerResponse& _response;
    RequestContext& _ctx;
    std::function<void()> _beforeAnswer;
    std::function<void()> _beforeWhole;
    int _fd = -1;
    std::ostream* _out = nullptr;
    bool _sent = false;
};

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
    auto deadline = ReadDeadlines::instance().arm(request.socket().impl()->sockfd(),
                                                  ReadDeadlines::Clock::now() + request.bodyTimeout());
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

std::int64_t unixSeconds(std::chrono::system_clock::time_point at) {
    return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

// One backend in /v1/health: its circuit, why it last failed, its load and
// speed, and what discovery knows. Never its URL or token.
nlohmann::json backendHealth(Pipeline& pipeline, const Catalog& catalog, const Backend& backend) {
    const auto report = pipeline.backendHealth().report(backend.name);
    const auto polled = catalog.byBackend().find(backend.name);
    const bool known = polled != catalog.byBackend().end() && polled->second.ever;
    nlohmann::json entry{{"name", backend.name},
                         {"kind", backend.kind == BackendKind::Ollama ? "ollama" : "openai"},
                         {"state", std::string(circuitName(report.state))},
                         {"available", pipeline.health().isAvailable(backend.name)},
                         {"consecutive_failures", report.consecutiveFailures},
                         {"last_error", report.lastError.empty() ? nlohmann::json() : nlohmann::json(report.lastError)},
                         {"last_error_at", report.lastError.empty() ? nlohmann::json() : nlohmann::json(unixSeconds(report.lastErrorAt))},
                         {"unhealthy_until", report.state == CircuitState::Closed ? nlohmann::json()
                                                                                   : nlohmann::json(unixSeconds(report.unhealthyUntil))},
                         {"in_flight", report.inFlight},
                         {"first_byte_ms_avg", report.firstByteMillis ? nlohmann::json(std::round(*report.firstByteMillis * 10) / 10)
                                                                      : nlohmann::json()},
                         {"models", known ? polled->second.models.size() : 0},
                         {"loaded", known ? polled->second.loaded.size() : 0},
                         {"last_poll", known ? nlohmann::json(unixSeconds(polled->second.polledAt)) : nlohmann::json()},
                         {"auth", backend.authToken.empty() ? "none" : "attached"}};
    return entry;
}

class RequestHandling {
public:
    RequestHandling(Gateway& gateway, ServerRequest& request, HTTPServerResponse& response)
        : _gateway(gateway), _request(request), _response(response), _client(request, response, _ctx) {
        _client.beforeAnswer([this] { settleBody(); });
        _client.beforeWholeAnswer([this] { releaseLimits(); });
    }

    void run();

private:
    void reply(int status, const std::string& message, const std::string& code = {});
    void replyJson(int status, const nlohmann::json& body);
    void dispatch(const Classified& classified);
    // Before any answer: the body not read yet is read and dropped (bounded),
    // so the connection can carry the client's next request; else the
    // answer says Connection: close.
    void settleBody();
    void lingerAfterRefusal();
    bool prepareForwardedRequest(const std::string& body);
    bool runStages();
    bool authenticate();
    template <class Call>
    bool runStage(const char* stage, Outcome refusal, int fallbackStatus, const char* fallbackMessage, Call&& call);
    void serveOwnRoute(const std::string& modelId);
    void finish();
    // The finished request's record: the access log line, and the audit writers.
    void recordFinished();
    // A browser's CORS preflight: 204 with what the origin may do, or 403.
    // Before auth: browsers send no credentials with a preflight.
    void answerPreflight();
    // Calls the limits stage's complete() once, if it admitted this request.
    void releaseLimits();

    template <class Call>
    bool guarded(const char* stage, Call&& call);

    Gateway& _gateway;
    ServerRequest& _request;
    HTTPServerResponse& _response;
    RequestContext _ctx;
    PocoClientChannel _client;
    std::shared_ptr<Pipeline> _pipeline;
    std::string _scheme = "http";  // as the client reached us, for the access line
    bool _admitted = false;
};

void RequestHandling::reply(int status, const std::string& message, const std::string& code) {
    _ctx.status = status;
    _client.sendWhole(status, "application/json", errorBody(_ctx.route.protocol, status, message, code));
}

void RequestHandling::replyJson(int status, const nlohmann::json& body) {
    _ctx.status = status;
    _client.sendWhole(status, "application/json", body.dump());
}

template <class Call>
bool RequestHandling::guarded(const char* stage, Call&& call) {
    try {
        return call();
    } catch (const std::exception& e) {
        _pipeline->logger("kernel").error("request %s: %s stage threw: %s", _ctx.requestId, std::string(stage), std::string(e.what()));
    } catch (...) {
        _pipeline->logger("kernel").error("request %s: %s stage threw a non-exception", _ctx.requestId, std::string(stage));
    }
    _ctx.outcome = Outcome::InternalError;
    reply(500, "internal error", "internal_error");
    return false;
}

void RequestHandling::run() {
    _pipeline = _gateway.pipeline();
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
    // A page of an allowed origin may read every answer, errors included.
    const auto& cors = _pipeline->settings().cors;
    const auto* origin = _ctx.header("origin");
    if (origin && cors.allows(*origin))
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
            reply(500, "internal error", "internal_error");
        } else {
            _response.setKeepAlive(false);  // a stream broken off half-way: start the next request afresh
            if (_ctx.status == 0) _ctx.status = 500;
        }
    }
    finish();
}

void RequestHandling::dispatch(const Classified& classified) {
    if (_ctx.method == "OPTIONS" && _ctx.header("origin") && _ctx.header("access-control-request-method")) {
        answerPreflight();
    } else if (_ctx.route.kind == RouteKind::Unknown) {
        _ctx.outcome = Outcome::BadRequest;
        reply(404, "no such route: " + _ctx.method + " " + _ctx.path.substr(0, 200), "unknown_route");
    } else if (_ctx.route.kind == RouteKind::Management) {
        _ctx.outcome = Outcome::RefusedPolicy;
        reply(403, "model management is not available through the gateway", "forbidden");
    } else if (!classified.methodAllowed) {
        _ctx.outcome = Outcome::BadRequest;
        _response.set("Allow", std::string(_ctx.route.method));
        reply(405, "method " + _ctx.method + " is not allowed on " + std::string(_ctx.route.name), "method_not_allowed");
    } else if (_ctx.route.forwarded) {
        std::string body;
        const auto read = readBody(_request, _pipeline->settings().maxBodyBytes, &body);
        // Every refusal of the body below leaves it unread to its end: the
        // connection cannot carry another request (finish() lingers, then it closes).
        if (read != BodyRead::Whole) {
            _response.setKeepAlive(false);
            _ctx.outcome = Outcome::BadRequest;
        }
        if (read == BodyRead::TooSlow) {
            reply(408, "the request body did not arrive in time", "request_timeout");
        } else if (read == BodyRead::TooLarge) {
            reply(413, "request body is larger than " + std::to_string(_pipeline->settings().maxBodyBytes) + " bytes",
                  "request_too_large");
        } else if (read == BodyRead::Truncated) {
            reply(400, "the request body ended before its length or its last chunk", "incomplete_body");
        } else if (read == BodyRead::Malformed) {
            reply(400, "malformed chunked request body: " + _request.body().error(), "bad_request");
        } else if (prepareForwardedRequest(body) && runStages()) {
            // Prompt logging: the forwarder keeps what it delivers, for this request only.
            if (_pipeline->auditing() && _ctx.principal->logPrompts)
                _ctx.slot(kAnswerCapture).limit = _pipeline->auditSettings().maxPromptBytes;
            _gateway.forwarder().forward(*_pipeline, _ctx, body, _client);
        }
    } else {
        serveOwnRoute(classified.modelId);
    }
}

void RequestHandling::settleBody() {
    if (_request.body().finished() || !_response.getKeepAlive()) return;
    if (readBody(_request, _pipeline->settings().maxBodyBytes, nullptr) != BodyRead::Whole) _response.setKeepAlive(false);
}

void RequestHandling::lingerAfterRefusal() {
    // Closing a socket with unread bytes makes the kernel send a reset, which
    // can destroy the answer before the client reads it. Read and drop what
    // the client is still sending, briefly and boundedly, before the close.
    drainUnreadInput(_request.socket());
}

bool RequestHandling::prepareForwardedRequest(const std::string& body) {
    _ctx.bytesIn = body.size();
    const auto parsed = parseJson(body, _ctx.body);
    if (parsed == JsonParse::TooDeep) {
        _ctx.outcome = Outcome::BadRequest;
        _ctx.body = nullptr;
        reply(400, "the request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels", "json_too_deep");
        return false;
    }
    if (parsed != JsonParse::Ok || !_ctx.body.is_object()) {
        _ctx.outcome = Outcome::BadRequest;
        _ctx.body = nullptr;
        reply(400, "the request body is not a JSON object", "invalid_json");
        return false;
    }
    if (const auto wrong = wrongFieldType(_ctx.body, _ctx.route)) {
        _ctx.outcome = Outcome::BadRequest;
        reply(400, *wrong, "invalid_field_type");
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
        reply(400, "model is required", "model_required");
        return false;
    }
    if (_ctx.route.streamable) {
        const auto stream = _ctx.body.find("stream");
        const bool defaultStream = _ctx.route.protocol == Protocol::Ollama;  // Ollama streams unless told not to
        _ctx.stream = stream != _ctx.body.end() && stream->is_boolean() ? stream->get<bool>() : defaultStream;
    }
    return true;
}

template <class Call>
bool RequestHandling::runStage(const char* stage, Outcome refusal, int fallbackStatus, const char* fallbackMessage,
                               Call&& call) {
    if (guarded(stage, std::forward<Call>(call))) return true;
    // A stage that refused set ctx.reply; one that threw was answered by guarded().
    if (!_client.sent()) {
        _ctx.outcome = refusal;
        reply(_ctx.reply.status ? _ctx.reply.status : fallbackStatus,
              _ctx.reply.message.empty() ? fallbackMessage : _ctx.reply.message, _ctx.reply.code);
    }
    return false;
}

bool RequestHandling::authenticate() {
    auto& auth = _pipeline->auth();
    if (!runStage("auth", Outcome::RefusedAuth, 401, "unauthorized",
                  [&] { return auth.authenticate(_ctx) == Verdict::Continue; }))
        return false;
    if (_ctx.principal) return true;
    _pipeline->logger("kernel").error("auth stage continued without setting a principal");
    _ctx.outcome = Outcome::InternalError;
    reply(500, "internal error", "internal_error");
    return false;
}

bool RequestHandling::runStages() {
    auto& pipeline = *_pipeline;
    if (!authenticate()) return false;
    if (auto* limits = pipeline.limits()) {
        if (!runStage("limits", Outcome::RefusedLimit, 429, "rate limit exceeded",
                      [&] { return limits->admit(_ctx) == Verdict::Continue; }))
            return false;
        _admitted = true;
    }
    // A model the caller may not use and a model nobody hosts look the same.
    if (!_ctx.principal->mayUse(_ctx.model)) {
        _ctx.outcome = Outcome::RefusedPolicy;
        reply(403, "model not allowed", "model_not_allowed");
        return false;
    }
    if (!runStage("router", Outcome::RefusedPolicy, 403, "model not allowed",
                  [&] { return pipeline.router().route(_ctx) == Verdict::Continue; }))
        return false;
    if (_ctx.plan.candidates.empty()) {
        _ctx.outcome = Outcome::RefusedPolicy;
        reply(403, "model not allowed", "model_not_allowed");
        return false;
    }
    return true;
}

void RequestHandling::serveOwnRoute(const std::string& modelId) {
    auto& pipeline = *_pipeline;
    // Liveness and readiness stay open: load balancers and orchestrators
    // probe them without keys, and they say nothing beyond up and ready.
    switch (_ctx.route.kind) {
    case RouteKind::Healthz: replyJson(200, {{"status", "ok"}}); return;
    case RouteKind::Readyz: {
        bool ready = false;
        const auto catalog = pipeline.catalog();
        for (const auto& backend : pipeline.backends()) {
            auto it = catalog->byBackend().find(backend->name);
            ready = ready || (pipeline.health().isAvailable(backend->name) && it != catalog->byBackend().end() && it->second.ever);
        }
        replyJson(ready ? 200 : 503, {{"status", ready ? "ready" : "no backend reachable"}});
        return;
    }
    default: break;
    }

    // Everything else needs the caller authenticated (metrics and health
    // name backends; model lists answer only what the caller may use).
    if (!authenticate()) return;
    const auto catalog = pipeline.catalog();
    switch (_ctx.route.kind) {
    case RouteKind::Metrics: {
        const auto text = _gateway.metrics().render();
        _ctx.status = 200;
        _client.sendWhole(200, "text/plain; version=0.0.4; charset=utf-8", text);
        return;
    }
    case RouteKind::Health: {
        auto backends = nlohmann::json::array();
        for (const auto& backend : pipeline.backends()) backends.push_back(backendHealth(pipeline, *catalog, *backend));
        const auto loaded = std::chrono::duration_cast<std::chrono::seconds>(_gateway.loadedAt().time_since_epoch()).count();
        replyJson(200, {{"status", "ok"}, {"config_generation", _gateway.generation()}, {"config_loaded_at", loaded},
                        {"pipeline", pipeline.describe()}, {"backends", backends}});
        return;
    }
    case RouteKind::OllamaVersion: replyJson(200, {{"version", "0.6.5"}}); return;
    case RouteKind::OllamaTags: replyJson(200, ollamaTags(*catalog, pipeline.aliases(), *_ctx.principal)); return;
    case RouteKind::OllamaPs: replyJson(200, ollamaPs(*catalog, *_ctx.principal)); return;
    case RouteKind::OpenAIModels: replyJson(200, openAiModels(*catalog, pipeline.aliases(), *_ctx.principal)); return;
    case RouteKind::OpenAIModel: {
        if (auto model = openAiModel(*catalog, pipeline.aliases(), *_ctx.principal, modelId)) replyJson(200, *model);
        else reply(404, "The model '" + modelId.substr(0, 200) + "' does not exist", "model_not_found");
        return;
    }
    case RouteKind::Aliases: replyJson(200, aliasList(pipeline.aliases(), *_ctx.principal)); return;
    default: reply(404, "no such route", "unknown_route"); return;
    }
}

void RequestHandling::releaseLimits() {
    if (!_admitted) return;
    _admitted = false;
    if (auto* limits = _pipeline->limits()) limits->complete(_ctx);
}

void RequestHandling::finish() {
    releaseLimits();
    if (_client.sent() && !_request.body().finished()) lingerAfterRefusal();
    if (!_client.sent() && _ctx.outcome == Outcome::ClientCancel) _response.setKeepAlive(false);
    auto& metrics = _gateway.metrics();
    const std::string route(_ctx.route.name);
    metrics.counter("sluice_requests_total", "Client requests by route and status.",
                    {{"route", route}, {"status", std::to_string(_ctx.status)}}).inc();
    if (_ctx.route.forwarded)
        metrics.histogram("sluice_request_duration_seconds", "Time from a request's arrival to the end of its answer.",
                          {{"route", route}})
            .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - _ctx.startedAt).count());
    recordFinished();
}

void RequestHandling::answerPreflight() {
    const auto& cors = _pipeline->settings().cors;
    const auto& origin = *_ctx.header("origin");
    if (!cors.allows(origin) || _ctx.route.kind == RouteKind::Unknown) {
        _ctx.outcome = Outcome::RefusedPolicy;
        reply(403, "cross-origin requests from this origin are not allowed", "cors_forbidden");
        return;
    }
    _ctx.responseHeaders.clear();  // the preflight's own set replaces the answer headers
    const auto* requested = _ctx.header("access-control-request-headers");
    for (auto& header : cors.preflightHeaders(origin, requested ? *requested : ""))
        _ctx.responseHeaders.push_back(std::move(header));
    _ctx.status = 204;
    _ctx.outcome = Outcome::Ok;
    _client.sendWhole(204, "text/plain", "");
}

void RequestHandling::recordFinished() {
    // The probes and the metrics scrape are not requests anyone audits or logs.
    const auto kind = _ctx.route.kind;
    if (kind == RouteKind::Healthz || kind == RouteKind::Readyz || kind == RouteKind::Metrics) return;
    const bool audited = _pipeline->auditing();
    const bool logged = _pipeline->settings().accessLog;
    if (!audited && !logged) return;
    try {
        auto entry = buildAuditEntry(_ctx, _pipeline->auditSettings().maxPromptBytes);
        if (logged) logAccess(entry.record, _scheme);  // it leaves out prompt and answer
        if (audited) _pipeline->audit(std::move(entry));
    } catch (const std::exception& e) {
        _pipeline->logger("kernel").error("request %s: no audit record: %s", _ctx.requestId, std::string(e.what()));
    }
}
} // namespace

std::string chooseRequestId(const std::string* offered) {
    if (offered && saneRequestId(*offered)) return *offered;
    thread_local std::mt19937_64 random{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(32, '0');
    for (std::size_t i = 0; i < id.size(); i += 16) {
        auto bits = random();
        for (std::size_t j = 0; j < 16; ++j, bits >>= 4) id[i + j] = kHex[bits & 15];
    }
    return id;
}

void FrontHandler::handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) {
    // Sluice's own connections make only ServerRequests (ServerConnection).
    auto* own = dynamic_cast<ServerRequest*>(&request);
    if (!own) throw std::logic_error("FrontHandler serves ServerRequests only");
    RequestHandling(_gateway, *own, response).run();
}

} // namespace sluice::kernel
