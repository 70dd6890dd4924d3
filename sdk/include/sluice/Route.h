#pragma once
// Which API call a request is, decided once by the kernel's front from the
// method and path. Stages read it; they never parse paths themselves.

#include <string_view>

namespace sluice {

// The client's protocol decides the error shape and the streaming framing.
// OpenAI's Responses API is a protocol of its own: its errors look like
// Chat Completions', but its stream is named events (docs/responses-api.md).
enum class Protocol { Ollama, OpenAI, Anthropic, OpenAIResponses, Sluice };

enum class RouteKind {
    OllamaChat, OllamaGenerate, OllamaEmbed, OllamaEmbeddings, OllamaShow,
    OllamaTags, OllamaPs, OllamaVersion,
    OpenAIChat, OpenAICompletions, OpenAIEmbeddings, OpenAIModels, OpenAIModel,
    OpenAIResponses, AnthropicMessages,
    OllamaRoot,  // GET / and HEAD /: Ollama's heartbeat ("Ollama is running")
    Healthz, Readyz, Metrics, Health, Aliases,
    Management,  // model management (pull, push, create, copy, delete, blobs): refused
    Console,     // the operator console's pages and API, under /console (docs/console.md)
    Unknown,
};

struct Route {
    RouteKind kind = RouteKind::Unknown;
    Protocol protocol = Protocol::Ollama;
    // True for calls that go to a backend for a model (chat, generate, embed, show).
    bool forwarded = false;
    // True for calls whose answer may stream (chat, generate, completions).
    bool streamable = false;
    // Expected method ("GET" or "POST"); a different one is a 405.
    std::string_view method;
    // Stable name for metrics, logs and audit ("/api/chat", "/v1/models/{id}").
    std::string_view name;
};

} // namespace sluice
