#include "sluice/Backend.h"

#include <algorithm>

#include <Poco/String.h>

#include "sluice/Catalog.h"

namespace sluice {

std::string Backend::authHeaderValue() const {
    if (authToken.empty()) return {};
    // A non-Authorization header (x-api-key and the like) carries the raw token.
    if (Poco::icompare(authHeader, "Authorization") != 0 || authScheme.empty()) return authToken.reveal();
    return authScheme + " " + authToken.reveal();
}

bool Backend::acceptsPrefill(const std::string& model) const {
    return prefillAll || std::any_of(prefillModels.begin(), prefillModels.end(),
                                     [&](const std::string& listed) { return sameModel(model, listed); });
}

std::string Backend::modelListPath() const {
    switch (kind) {
    case BackendKind::Ollama: return "/api/tags";
    case BackendKind::OpenAI: return "/models";
    case BackendKind::Anthropic: return "/v1/models?limit=1000";  // one page: Anthropic pages by 20
    }
    return "/models";
}

std::vector<std::pair<std::string, std::string>> Backend::apiHeaders() const {
    if (kind == BackendKind::Anthropic) return {{"anthropic-version", kAnthropicVersion}};
    return {};
}

const char* backendKindName(BackendKind kind) {
    switch (kind) {
    case BackendKind::Ollama: return "ollama";
    case BackendKind::OpenAI: return "openai";
    case BackendKind::Anthropic: return "anthropic";
    }
    return "ollama";
}

} // namespace sluice
