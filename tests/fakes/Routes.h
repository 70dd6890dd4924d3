#pragma once
// The model routes of the two protocols. FakeBackend has already counted the
// request, checked the token, parsed the body and applied the status, delay
// and reset parts of a fault rule; a route validates the request, builds the
// deterministic answer and hands it to Delivery with the rule's stream plan.

#include <string>

#include <nlohmann/json.hpp>

#include "Delivery.h"
#include "Exchange.h"
#include "ModelCatalog.h"

namespace sluice::fake {

// Everything a route reads to answer one request.
struct RouteContext {
    Exchange& exchange;
    Delivery& delivery;
    const nlohmann::json& body;  // an object for POST, null for GET
    const std::string& backendName;
    bool ollamaKind;  // also decides /v1/models' owned_by
    ModelCatalog& catalog;
    AnswerPlan plan;
};

// Whether (method, path) names a route of the protocol; 405 vs 404 for the rest.
enum class RouteMatch { Found, WrongMethod, NotFound };

RouteMatch matchOllamaRoute(const std::string& method, const std::string& path);
void answerOllama(RouteContext& context);

RouteMatch matchOpenAiRoute(const std::string& method, const std::string& path);
void answerOpenAi(RouteContext& context);

}  // namespace sluice::fake
