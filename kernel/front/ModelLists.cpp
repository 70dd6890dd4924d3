#include "ModelLists.h"

#include <chrono>

namespace sluice::kernel {

namespace {
// An entry from an openai-kind backend, made to look like an Ollama tag.
nlohmann::json asOllamaEntry(const ModelEntry& model) {
    if (model.entry.is_object() && model.entry.contains("name")) return model.entry;
    return {{"name", model.name}, {"model", model.name}, {"modified_at", "1970-01-01T00:00:00Z"}, {"size", 0},
            {"digest", ""}, {"details", {{"parent_model", ""}, {"format", ""}, {"family", ""}, {"families", nlohmann::json::array()},
                                         {"parameter_size", ""}, {"quantization_level", ""}}}};
}

nlohmann::json asOpenAiEntry(const ModelEntry& model) {
    if (model.entry.is_object() && model.entry.contains("id") && model.entry.contains("object")) return model.entry;
    std::int64_t created = 0;
    return {{"id", model.name}, {"object", "model"}, {"created", created}, {"owned_by", "library"}};
}

template <class Convert>
nlohmann::json listOf(const std::vector<ModelEntry>& models, const Principal& principal, Convert convert) {
    auto list = nlohmann::json::array();
    for (const auto& model : models)
        if (principal.mayUse(model.name)) list.push_back(convert(model));
    return list;
}
} // namespace

nlohmann::json ollamaTags(const Catalog& catalog, const Principal& principal) {
    return {{"models", listOf(catalog.allModels(), principal, asOllamaEntry)}};
}

nlohmann::json ollamaPs(const Catalog& catalog, const Principal& principal) {
    return {{"models", listOf(catalog.allLoaded(), principal, asOllamaEntry)}};
}

nlohmann::json openAiModels(const Catalog& catalog, const Principal& principal) {
    return {{"object", "list"}, {"data", listOf(catalog.allModels(), principal, asOpenAiEntry)}};
}

std::optional<nlohmann::json> openAiModel(const Catalog& catalog, const Principal& principal, const std::string& id) {
    if (!principal.mayUse(id)) return std::nullopt;
    for (const auto& model : catalog.allModels())
        if (sameModel(id, model.name)) return asOpenAiEntry(model);
    return std::nullopt;
}

} // namespace sluice::kernel
