#include "FakeBackend.h"

#include <strings.h>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerConnectionFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/TCPServerConnectionFactory.h>

#include "Answers.h"
#include "Delivery.h"
#include "Routes.h"

namespace sluice::fake {

namespace {

constexpr int minThreads = 16;
constexpr int maxThreads = 1024;
constexpr int maxQueued = 4096;
constexpr int listenBacklog = 4096;

// Poco builds one handler per request; each forwards to the backend.
class ForwardingHandler : public Poco::Net::HTTPRequestHandler {
public:
    explicit ForwardingHandler(FakeBackend& backend) : _backend(backend) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) override {
        _backend.handle(request, response);
    }

private:
    FakeBackend& _backend;
};

class ForwardingHandlerFactory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit ForwardingHandlerFactory(FakeBackend& backend) : _backend(backend) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const Poco::Net::HTTPServerRequest&) override {
        return new ForwardingHandler(_backend);
    }

private:
    FakeBackend& _backend;
};

// Wraps Poco's HTTP connection factory to count accepted TCP connections,
// which is how a test proves that the gateway pools keep-alive connections.
class CountingConnectionFactory : public Poco::Net::TCPServerConnectionFactory {
public:
    CountingConnectionFactory(Poco::Net::TCPServerConnectionFactory::Ptr inner, FakeStats& stats)
        : _inner(std::move(inner)), _stats(stats) {}
    Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
        _stats.connectionAccepted();
        return _inner->createConnection(socket);
    }

private:
    Poco::Net::TCPServerConnectionFactory::Ptr _inner;
    FakeStats& _stats;
};

bool startsWith(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

// The model a request names, for rule matching: the body's "model" (or
// Ollama's older "name"), or the id in GET /v1/models/{id}.
std::string requestedModel(const Exchange& exchange, const nlohmann::json& body) {
    if (body.is_object()) {
        for (const char* field : {"model", "name"})
            if (body.contains(field) && body[field].is_string()) return body[field].get<std::string>();
    }
    if (startsWith(exchange.path(), "/v1/models/")) return exchange.path().substr(11);
    return {};
}

// A provider that takes no assistant prefill refuses it up front, in the
// route's protocol, so a gateway's resume-on-another-backend path can be failed.
void rejectPrefill(Delivery& delivery, Protocol protocol) {
    delivery.error(protocol, 400, "assistant prefill is not supported", "prefill_not_supported");
}

}  // namespace

FakeBackend::FakeBackend(FakeOptions options) : _options(std::move(options)), _catalog(_options.models) {
    if (_options.name.empty()) _options.name = _options.kind;
    _kind = _options.kind == "anthropic" ? BackendKind::Anthropic
            : _options.kind == "openai"  ? BackendKind::OpenAi
                                         : BackendKind::Ollama;
    if (_options.authHeader.empty() && _kind != BackendKind::Anthropic) _options.authHeader = "Authorization";
    const auto apis = _options.apis.value_or(
        _kind == BackendKind::Ollama ? std::vector<std::string>{"messages", "responses"}
        : _kind == BackendKind::Anthropic ? std::vector<std::string>{"messages"}
                                          : std::vector<std::string>{});
    for (const auto& api : apis) {
        _servesMessages = _servesMessages || api == "messages";
        _servesResponses = _servesResponses || api == "responses";
    }
}

FakeBackend::~FakeBackend() { stop(); }

std::uint16_t FakeBackend::start() {
    Poco::Net::ServerSocket socket;
    if (!_options.tlsCertificate.empty()) {
        Poco::Net::Context::Ptr context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, _options.tlsKey,
                                                                 _options.tlsCertificate, "", Poco::Net::Context::VERIFY_NONE);
        socket = Poco::Net::SecureServerSocket(context);
    }
    socket.bind(Poco::Net::SocketAddress(_options.host, _options.port), true);
    socket.listen(listenBacklog);

    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(maxThreads);
    params->setMaxQueued(maxQueued);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);
    params->setKeepAliveTimeout(Poco::Timespan(30, 0));
    params->setServerName(_options.name);
    params->setSoftwareVersion("sluice-fake-backend/" + _options.kind);

    _pool = std::make_unique<Poco::ThreadPool>(minThreads, maxThreads);
    Poco::Net::TCPServerConnectionFactory::Ptr http =
        new Poco::Net::HTTPServerConnectionFactory(params, new ForwardingHandlerFactory(*this));
    _server = std::make_unique<Poco::Net::TCPServer>(new CountingConnectionFactory(http, _stats), *_pool, socket,
                                                     params);
    _server->start();
    return socket.address().port();
}

void FakeBackend::stop() {
    _stopping = true;
    if (_server) _server->stop();
}

void FakeBackend::handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
    Exchange exchange(request, response, _stopping);
    try {
        const auto& path = exchange.path();
        if (startsWith(path, "/_fake/")) {
            handleControl(exchange);
        } else if (startsWith(path, "/api/") || startsWith(path, "/v1/") || path == "/v1") {
            handleModelRoute(exchange);
        } else if (path == "/" && _options.kind == "ollama" &&
                   (exchange.method() == "GET" || exchange.method() == "HEAD")) {
            exchange.sendText(200, "Ollama is running");
        } else {
            exchange.sendJson(404, {{"error", "404 page not found"}});
        }
    } catch (const std::exception& error) {
        // Before any byte: a 500; mid-answer there is nothing better than a reset.
        if (!response.sent())
            exchange.sendJson(500, {{"error", std::string("sluice-fake-backend: ") + error.what()}});
        else
            exchange.abort();
    }
}

bool FakeBackend::authorized(const Exchange& exchange) const {
    if (_options.token.empty()) return true;
    // Anthropic takes x-api-key (Claude Code's ANTHROPIC_API_KEY) or a bearer
    // token (ANTHROPIC_AUTH_TOKEN; @anthropic-ai/sdk sends its apiKey so too).
    if (_options.authHeader.empty())
        return exchange.header("x-api-key") == _options.token ||
               exchange.header("Authorization") == "Bearer " + _options.token;
    const bool bearer = strcasecmp(_options.authHeader.c_str(), "Authorization") == 0;
    return exchange.header(_options.authHeader) == (bearer ? "Bearer " + _options.token : _options.token);
}

void FakeBackend::handleModelRoute(Exchange& exchange) {
    InFlightGuard inFlight(_stats, exchange.path());
    exchange.beforeWholeAnswer([&inFlight] { inFlight.finishNow(); });
    const auto& path = exchange.path();
    const auto& method = exchange.method();
    const bool anthropicKind = _kind == BackendKind::Anthropic;
    const bool messagesRoute = path == "/v1/messages" && _servesMessages;
    const bool responsesRoute = path == "/v1/responses" && _servesResponses;
    // Anthropic's server answers everything in its shape; Ollama only /v1/messages.
    const Protocol protocol = anthropicKind || messagesRoute ? Protocol::Anthropic
                              : startsWith(path, "/api/")   ? Protocol::Ollama
                                                            : Protocol::OpenAi;
    Delivery delivery(exchange, _stats);

    const std::string& rawBody = exchange.body();
    nlohmann::json body = rawBody.empty() ? nlohmann::json() : nlohmann::json::parse(rawBody, nullptr, false);
    if (body.is_discarded()) body = nullptr;
    _stats.recordLastRequest(
        {{"method", method}, {"path", path}, {"headers", exchange.headersJson()}, {"body", body}});

    if (!authorized(exchange)) {
        const char* message = protocol == Protocol::Ollama      ? "unauthorized"
                              : protocol == Protocol::Anthropic ? "invalid x-api-key"
                                                                : "Incorrect API key provided.";
        delivery.error(protocol, 401, message, "invalid_api_key");
        return;
    }

    RouteMatch match = RouteMatch::NotFound;
    if (messagesRoute || responsesRoute)
        match = method == "POST" ? RouteMatch::Found : RouteMatch::WrongMethod;
    else if (anthropicKind)
        match = matchAnthropicRoute(method, path);
    else if (protocol == Protocol::OpenAi)
        match = matchOpenAiRoute(method, path);
    else if (_kind == BackendKind::Ollama)
        match = matchOllamaRoute(method, path);
    if (match != RouteMatch::Found) {
        const int status = match == RouteMatch::WrongMethod ? 405 : 404;
        delivery.error(protocol, status, status == 405 ? "method not allowed" : "404 page not found",
                       status == 404 ? "not_found" : "method_not_allowed");
        return;
    }
    if (anthropicKind && exchange.header("anthropic-version").empty()) {
        delivery.error(protocol, 400, "anthropic-version: header is required");
        return;
    }
    if (method == "POST" && !body.is_object()) {
        delivery.error(protocol, 400, rawBody.empty() ? "missing request body" : "invalid JSON request body");
        return;
    }

    // Only the two chat routes continue a prefill (README.md, "Assistant prefill").
    const bool chatRoute = (path == "/api/chat" && protocol == Protocol::Ollama) ||
                           (path == "/v1/chat/completions" && protocol == Protocol::OpenAi);
    const bool prefill = chatRoute && prefillWords(body.value("messages", nlohmann::json())).has_value();
    if (prefill) _stats.prefillSeen();
    // --reject-prefill plays a provider that validates before anything else, so no rule is spent.
    if (prefill && _options.rejectPrefill) {
        rejectPrefill(delivery, protocol);
        return;
    }

    const auto rule = _rules.take(requestedModel(exchange, body), path, prefill);
    if (rule)
        for (const auto& [name, value] : rule->headers) exchange.setHeader(name, value);
    if (rule && rule->delayFirstByteMs > 0 && !exchange.waitWhileConnected(rule->delayFirstByteMs)) {
        _stats.streamCancelled();
        exchange.abort();
        return;
    }
    if (rule && rule->resetBeforeFirstByte) {
        exchange.abort();
        return;
    }
    if (rule && rule->status != 0) {
        HeaderList headers;
        if (rule->status == 429 && rule->retryAfter >= 0)
            headers.emplace_back("Retry-After", std::to_string(rule->retryAfter));
        delivery.error(protocol, rule->status,
                       rule->message.value_or("fake fault: injected HTTP " + std::to_string(rule->status)),
                       rule->code.value_or(""), {}, headers);
        return;
    }
    // The rule matched only because the request carries a prefill.
    if (rule && rule->rejectPrefill) {
        rejectPrefill(delivery, protocol);
        return;
    }

    RouteContext context{exchange, delivery, body, _options.name, _kind, _catalog, AnswerPlan::from(rule)};
    if (messagesRoute)
        answerAnthropicMessages(context);
    else if (responsesRoute)
        answerResponses(context);
    else if (anthropicKind)
        answerAnthropic(context);
    else if (protocol == Protocol::Ollama)
        answerOllama(context);
    else
        answerOpenAi(context);
}

void FakeBackend::handleControl(Exchange& exchange) {
    const auto& path = exchange.path();
    const bool post = exchange.method() == "POST";
    nlohmann::json body;
    if (post) {
        const auto& raw = exchange.body();
        body = raw.empty() ? nlohmann::json::object() : nlohmann::json::parse(raw, nullptr, false);
        if (body.is_discarded() || !body.is_object()) {
            exchange.sendJson(400, {{"error", "body must be a JSON object"}});
            return;
        }
    }
    try {
        if (path == "/_fake/stats" && !post) {
            exchange.sendJson(200, _stats.toJson());
        } else if (path == "/_fake/rules" && post) {
            if (!body.contains("rules") || !body["rules"].is_array())
                throw std::invalid_argument("\"rules\" must be an array");
            std::vector<FaultRule> rules;
            for (const auto& rule : body["rules"]) rules.push_back(FaultRule::fromJson(rule));
            _rules.replace(std::move(rules));
            exchange.sendJson(200, _rules.toJson());
        } else if (path == "/_fake/rules") {
            exchange.sendJson(200, _rules.toJson());
        } else if (path == "/_fake/models" && post) {
            _catalog.update(body);
            exchange.sendJson(200, _catalog.snapshot().toJson());
        } else if (path == "/_fake/models") {
            exchange.sendJson(200, _catalog.snapshot().toJson());
        } else if (path == "/_fake/reset" && post) {
            _rules.clear();
            _stats.reset();
            exchange.sendJson(200, {{"ok", true}});
        } else {
            exchange.sendJson(404, {{"error", "unknown control route " + exchange.method() + " " + path}});
        }
    } catch (const std::invalid_argument& error) {
        exchange.sendJson(400, {{"error", error.what()}});
    }
}

}  // namespace sluice::fake
