#pragma once
// Builds a RequestContext as the kernel's front would hand it to the first
// stage: a chat call in the client's protocol, its headers, its peer, and
// (for stages after auth) a principal.
//
//   auto ctx = sluice::testing::RequestContextBuilder()
//                  .openAiChat("llama3.2")
//                  .header("x-forwarded-user", "ada")
//                  .peer("10.0.0.5", /*trustedProxy=*/true)
//                  .build();
//
// Part of the SDK's test helpers (Sluice::testing).

#include <cctype>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/RequestContext.h"

namespace sluice::testing {

class RequestContextBuilder {
public:
    RequestContextBuilder() { ollamaChat(""); }

    // POST /api/chat with `model` and one user message.
    RequestContextBuilder& ollamaChat(const std::string& model, bool stream = true) {
        return call(Route{RouteKind::OllamaChat, Protocol::Ollama, true, true, "POST", "/api/chat"}, model, stream);
    }
    // POST /v1/chat/completions with `model` and one user message.
    RequestContextBuilder& openAiChat(const std::string& model, bool stream = false) {
        return call(Route{RouteKind::OpenAIChat, Protocol::OpenAI, true, true, "POST", "/v1/chat/completions"}, model,
                    stream);
    }
    // Replaces the body (ctx.model and ctx.stream are taken from it).
    RequestContextBuilder& body(nlohmann::json body) {
        _model = body.value("model", std::string{});
        _stream = body.value("stream", _route.protocol == Protocol::Ollama);
        _body = std::move(body);
        return *this;
    }
    // A request header; the name is stored lower-case, as the kernel does. Repeatable.
    RequestContextBuilder& header(std::string name, std::string value) {
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        _headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    // The TCP peer, and whether it is in server.trusted_proxies. The client
    // address is the peer too unless clientAddress() says otherwise.
    RequestContextBuilder& peer(std::string address, bool trustedProxy = false) {
        _peer = std::move(address);
        _trusted = trustedProxy;
        return *this;
    }
    RequestContextBuilder& clientAddress(std::string address) {
        _client = std::move(address);
        return *this;
    }
    // The caller as an auth stage would have set it, allowed every model.
    RequestContextBuilder& tenant(std::string tenant, std::string keyId = "test-key") {
        Principal principal;
        principal.tenant = std::move(tenant);
        principal.keyId = std::move(keyId);
        principal.allowAllModels = true;
        _principal = std::move(principal);
        return *this;
    }
    RequestContextBuilder& principal(Principal principal) {
        _principal = std::move(principal);
        return *this;
    }
    RequestContextBuilder& requestId(std::string id) {
        _requestId = std::move(id);
        return *this;
    }

    std::unique_ptr<RequestContext> build() const {
        auto ctx = std::make_unique<RequestContext>();
        ctx->requestId = _requestId;
        ctx->route = _route;
        ctx->method = std::string(_route.method);
        ctx->path = std::string(_route.name);
        ctx->peerAddress = _peer;
        ctx->viaTrustedProxy = _trusted;
        ctx->clientAddress = _client.empty() ? _peer : _client;
        ctx->headers = _headers;
        ctx->body = _body;
        ctx->model = _model;
        ctx->stream = _stream;
        ctx->startedAt = std::chrono::steady_clock::now();
        ctx->principal = _principal;
        return ctx;
    }

private:
    RequestContextBuilder& call(Route route, const std::string& model, bool stream) {
        _route = route;
        return body({{"model", model},
                     {"messages", nlohmann::json::array({{{"role", "user"}, {"content", "Hello"}}})},
                     {"stream", stream}});
    }

    Route _route;
    nlohmann::json _body;
    std::string _model;
    bool _stream = false;
    std::vector<std::pair<std::string, std::string>> _headers;
    std::string _peer = "127.0.0.1";
    std::string _client;
    bool _trusted = false;
    std::optional<Principal> _principal;
    std::string _requestId = "test-request";
};

} // namespace sluice::testing
