#pragma once
// The model routes of the protocols. FakeBackend has already counted the
// request, checked the token, parsed the body and applied the status, delay
// and reset parts of a fault rule; a route validates the request, builds the
// deterministic answer and hands it to Delivery with the rule's stream plan.

#include <string>

#include <nlohmann/json.hpp>

#include "Delivery.h"
#include "Exchange.h"
#include "ModelCatalog.h"

namespace sluice::fake {

// Which server the fake plays: decides routes, auth header, error shapes and
// the small differences between providers of the same API.
enum class BackendKind { Ollama, OpenAi, Anthropic };

// Everything a route reads to answer one request.
struct RouteContext {
    Exchange& exchange;
    Delivery& delivery;
    const nlohmann::json& body;  // an object for POST, null for GET
    const std::string& backendName;
    BackendKind kind;  // also decides /v1/models' owned_by
    ModelCatalog& catalog;
    AnswerPlan plan;
};

// Whether (method, path) names a route of the protocol; 405 vs 404 for the rest.
enum class RouteMatch { Found, WrongMethod, NotFound };

RouteMatch matchOllamaRoute(const std::string& method, const std::string& path);
void answerOllama(RouteContext& context);

RouteMatch matchOpenAiRoute(const std::string& method, const std::string& path);
void answerOpenAi(RouteContext& context);

// The extra APIs a fake may serve (--apis): POST /v1/messages, POST /v1/responses.
void answerAnthropicMessages(RouteContext& context);
void answerResponses(RouteContext& context);

// Anthropic's own API (--kind anthropic): GET /v1/models and /v1/models/{id}.
RouteMatch matchAnthropicRoute(const std::string& method, const std::string& path);
void answerAnthropic(RouteContext& context);

}  // namespace sluice::fake
