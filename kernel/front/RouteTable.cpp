#include "RouteTable.h"

#include <array>

#include <Poco/Exception.h>
#include <Poco/URI.h>

namespace sluice::kernel {

namespace {
struct Entry {
    std::string_view path;
    Route route;
};

constexpr Route make(RouteKind kind, Protocol protocol, std::string_view method, std::string_view name,
                     bool forwarded = false, bool streamable = false) {
    return Route{kind, protocol, forwarded, streamable, method, name};
}

constexpr std::array kRoutes{
    Entry{"/api/chat", make(RouteKind::OllamaChat, Protocol::Ollama, "POST", "/api/chat", true, true)},
    Entry{"/api/generate", make(RouteKind::OllamaGenerate, Protocol::Ollama, "POST", "/api/generate", true, true)},
    Entry{"/api/embed", make(RouteKind::OllamaEmbed, Protocol::Ollama, "POST", "/api/embed", true)},
    Entry{"/api/embeddings", make(RouteKind::OllamaEmbeddings, Protocol::Ollama, "POST", "/api/embeddings", true)},
    Entry{"/api/show", make(RouteKind::OllamaShow, Protocol::Ollama, "POST", "/api/show", true)},
    Entry{"/api/tags", make(RouteKind::OllamaTags, Protocol::Ollama, "GET", "/api/tags")},
    Entry{"/api/ps", make(RouteKind::OllamaPs, Protocol::Ollama, "GET", "/api/ps")},
    Entry{"/api/version", make(RouteKind::OllamaVersion, Protocol::Ollama, "GET", "/api/version")},
    Entry{"/v1/chat/completions", make(RouteKind::OpenAIChat, Protocol::OpenAI, "POST", "/v1/chat/completions", true, true)},
    Entry{"/v1/completions", make(RouteKind::OpenAICompletions, Protocol::OpenAI, "POST", "/v1/completions", true, true)},
    Entry{"/v1/embeddings", make(RouteKind::OpenAIEmbeddings, Protocol::OpenAI, "POST", "/v1/embeddings", true)},
    Entry{"/v1/models", make(RouteKind::OpenAIModels, Protocol::OpenAI, "GET", "/v1/models")},
    Entry{"/v1/messages", make(RouteKind::AnthropicMessages, Protocol::Anthropic, "POST", "/v1/messages", true, true)},
    Entry{"/v1/responses", make(RouteKind::OpenAIResponses, Protocol::OpenAIResponses, "POST", "/v1/responses", true, true)},
    Entry{"/", make(RouteKind::OllamaRoot, Protocol::Ollama, "GET", "/")},
    Entry{"/healthz", make(RouteKind::Healthz, Protocol::Sluice, "GET", "/healthz")},
    Entry{"/readyz", make(RouteKind::Readyz, Protocol::Sluice, "GET", "/readyz")},
    Entry{"/metrics", make(RouteKind::Metrics, Protocol::Sluice, "GET", "/metrics")},
    Entry{"/v1/health", make(RouteKind::Health, Protocol::OpenAI, "GET", "/v1/health")},
    Entry{"/v1/aliases", make(RouteKind::Aliases, Protocol::OpenAI, "GET", "/v1/aliases")},
};

// Model management: clients never manage the backends behind a gateway.
constexpr std::array<std::string_view, 7> kManagement{"/api/pull", "/api/push", "/api/create", "/api/copy",
                                                      "/api/delete", "/api/blobs", "/api/blobs/"};

} // namespace

Protocol protocolOf(std::string_view path) {
    if (path.starts_with("/v1/messages")) return Protocol::Anthropic;  // /v1/messages/count_tokens, /v1/messages/batches
    if (path.starts_with("/v1/responses")) return Protocol::OpenAIResponses;
    return path.starts_with("/v1/") ? Protocol::OpenAI : Protocol::Ollama;
}

namespace {
// A model id in a path is percent-encoded where it holds a slash
// ("team%2Fchat"); a malformed escape leaves it as it came, to be not found.
std::string decodedModelId(std::string_view encoded) {
    std::string decoded;
    try {
        Poco::URI::decode(std::string(encoded), decoded);
    } catch (const Poco::Exception&) {
        return std::string(encoded);
    }
    return decoded;
}
} // namespace

Classified classify(std::string_view method, std::string_view path) {
    Classified result;
    // Clients and proxies sometimes add a trailing slash; treat it as the same route.
    if (path.size() > 1 && path.ends_with('/')) path.remove_suffix(1);

    for (const auto& entry : kRoutes) {
        if (entry.path == path) {
            result.route = entry.route;
            result.methodAllowed = method == entry.route.method || (method == "HEAD" && entry.route.method == "GET");
            return result;
        }
    }
    static constexpr std::string_view kModelPrefix = "/v1/models/";
    if (path.starts_with(kModelPrefix) && path.size() > kModelPrefix.size()) {
        result.route = make(RouteKind::OpenAIModel, Protocol::OpenAI, "GET", "/v1/models/{id}");
        result.methodAllowed = method == "GET" || method == "HEAD";
        result.modelId = decodedModelId(path.substr(kModelPrefix.size()));
        return result;
    }
    // The operator console: its own pages and API, methods checked there.
    if (path == "/console" || path.starts_with("/console/")) {
        result.route = make(RouteKind::Console, Protocol::OpenAI, method, "/console");
        return result;
    }
    for (auto management : kManagement) {
        if (path == management || (management.ends_with('/') && path.starts_with(management))) {
            result.route = make(RouteKind::Management, Protocol::Ollama, method, "management");
            return result;
        }
    }
    result.route = make(RouteKind::Unknown, protocolOf(path), method, "unknown");
    return result;
}

} // namespace sluice::kernel
