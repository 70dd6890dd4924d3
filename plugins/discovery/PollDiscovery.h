#pragma once
// poll: asks each backend for its models over HTTP: /api/tags and /api/ps
// for Ollama, /models under the API base for OpenAI-compatible providers.

#include "sluice/Plugin.h"

namespace sluice::discovery {

class PollDiscovery final : public DiscoverySource {
public:
    explicit PollDiscovery(const StageSetup&) {}
    DiscoveryResult poll(const Backend& backend, std::chrono::milliseconds timeout) override;
};

// Parses an Ollama /api/tags or /api/ps answer, or an OpenAI /v1/models answer.
std::vector<ModelEntry> parseModelList(const nlohmann::json& answer, BackendKind kind);

} // namespace sluice::discovery
