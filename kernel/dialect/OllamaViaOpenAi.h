#pragma once
// The dialect for an Ollama client in front of an OpenAI-compatible backend
// (docs/architecture.md, "Ollama clients and OpenAI-compatible backends"):
// chat, generate and both embeddings calls are translated to Chat
// Completions and Embeddings and their answers back (kernel/translate), an
// SSE stream becomes Ollama's NDJSON, and /api/show, which such a backend
// cannot answer, the gateway answers itself.

#include "ClientShaped.h"

namespace sluice::kernel {

class OllamaViaOpenAi final : public ClientShaped {
public:
    OllamaViaOpenAi() : ClientShaped(Protocol::Ollama) {}

    // Whether this dialect serves the route: the translatable calls and /api/show.
    static bool serves(RouteKind kind);

    std::optional<ClientAnswer> ownAnswer(const DialectCall& call) const override;
    UpstreamRequest request(const DialectCall& call) const override;
    std::optional<ClientAnswer> whole(const DialectCall& call, AnswerJson& answer,
                                      const std::string& contentType, std::chrono::nanoseconds elapsed) const override;
    std::optional<StreamPlan> stream(const DialectCall& call, std::string_view contentType,
                                     std::chrono::steady_clock::time_point started) const override;
};

} // namespace sluice::kernel
