#include "PollDiscovery.h"

#include "sluice/BackendFetch.h"

namespace sluice::discovery {

std::vector<ModelEntry> parseModelList(const nlohmann::json& answer, BackendKind kind) {
    std::vector<ModelEntry> models;
    const char* listKey = kind == BackendKind::Ollama ? "models" : "data";
    const char* nameKey = kind == BackendKind::Ollama ? "name" : "id";
    if (!answer.is_object() || !answer.contains(listKey) || !answer[listKey].is_array()) return models;
    for (const auto& entry : answer[listKey]) {
        if (!entry.is_object()) continue;
        auto name = entry.find(nameKey);
        if (kind == BackendKind::Ollama && name == entry.end()) name = entry.find("model");
        if (name == entry.end() || !name->is_string()) continue;
        const auto& text = name->get_ref<const std::string&>();
        if (!text.empty()) models.push_back({text, entry});
    }
    return models;
}

DiscoveryResult PollDiscovery::poll(const Backend& backend, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    DiscoveryResult result;
    auto list = fetchJson(backend, backend.modelListPath(), timeout);
    if (!list.ok) {
        result.error = list.error;
        return result;
    }
    result.ok = true;
    result.models = parseModelList(list.body, backend.kind);
    if (backend.kind == BackendKind::Ollama) {
        // Loaded models are a hint for routing; a failed /api/ps keeps the list.
        // It gets what /api/tags left of the timeout, so the poll as a whole
        // stays within it, as DiscoverySource promises.
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() > 0) {
            auto loaded = fetchJson(backend, "/api/ps", left);
            if (loaded.ok) result.loaded = parseModelList(loaded.body, backend.kind);
        }
    }
    return result;
}

} // namespace sluice::discovery
