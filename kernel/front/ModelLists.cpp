#include "ModelLists.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <chrono>

namespace sluice::kernel {

namespace {
nlohmann::json ollamaDetails(const std::string& family) {
    return {{"parent_model", ""}, {"format", ""}, {"family", family}, {"families", nlohmann::json::array()},
            {"parameter_size", ""}, {"quantization_level", ""}};
}

// An entry from an openai-kind backend, made to look like an Ollama tag.
nlohmann::json asOllamaEntry(const ModelEntry& model) {
    if (model.entry.is_object() && model.entry.contains("name")) return model.entry;
    return {{"name", model.name}, {"model", model.name}, {"modified_at", "1970-01-01T00:00:00Z"}, {"size", 0},
            {"digest", ""}, {"details", ollamaDetails("")}};
}

nlohmann::json asOpenAiEntry(const ModelEntry& model) {
    if (model.entry.is_object() && model.entry.contains("id") && model.entry.contains("object")) return model.entry;
    std::int64_t created = 0;
    return {{"id", model.name}, {"object", "model"}, {"created", created}, {"owned_by", "library"}};
}

// Aliases are listed as models so clients can pick them like any other;
// "owned_by"/"family" say what they are.
nlohmann::json aliasAsOllamaEntry(const Alias& alias) {
    return {{"name", alias.name}, {"model", alias.name}, {"modified_at", "1970-01-01T00:00:00Z"}, {"size", 0},
            {"digest", ""}, {"details", ollamaDetails("sluice-alias")}};
}

nlohmann::json aliasAsOpenAiEntry(const Alias& alias) {
    std::int64_t created = 0;
    return {{"id", alias.name}, {"object", "model"}, {"created", created}, {"owned_by", "sluice-alias"}};
}

bool listedAsModel(const std::vector<ModelEntry>& models, const std::string& name) {
    for (const auto& model : models)
        if (model.name == name) return true;
    return false;
}

template <class Convert, class ConvertAlias>
nlohmann::json listOf(const std::vector<ModelEntry>& models, const AliasTable* aliases, const Principal& principal,
                      Convert convert, ConvertAlias convertAlias) {
    auto list = nlohmann::json::array();
    for (const auto& model : models)
        if (principal.mayUse(model.name)) list.push_back(convert(model));
    if (aliases)
        for (const auto& alias : aliases->all())
            if (principal.mayUse(alias.name) && !listedAsModel(models, alias.name)) list.push_back(convertAlias(alias));
    return list;
}
} // namespace

nlohmann::json ollamaTags(const Catalog& catalog, const AliasTable& aliases, const Principal& principal) {
    return {{"models", listOf(catalog.allModels(), &aliases, principal, asOllamaEntry, aliasAsOllamaEntry)}};
}

nlohmann::json ollamaPs(const Catalog& catalog, const Principal& principal) {
    return {{"models", listOf(catalog.allLoaded(), nullptr, principal, asOllamaEntry, aliasAsOllamaEntry)}};
}

nlohmann::json openAiModels(const Catalog& catalog, const AliasTable& aliases, const Principal& principal) {
    return {{"object", "list"}, {"data", listOf(catalog.allModels(), &aliases, principal, asOpenAiEntry, aliasAsOpenAiEntry)}};
}

std::optional<nlohmann::json> openAiModel(const Catalog& catalog, const AliasTable& aliases, const Principal& principal,
                                          const std::string& id) {
    if (!principal.mayUse(id)) return std::nullopt;
    for (const auto& model : catalog.allModels())
        if (sameModel(id, model.name)) return asOpenAiEntry(model);
    if (const auto* alias = aliases.find(id)) return aliasAsOpenAiEntry(*alias);
    return std::nullopt;
}

nlohmann::json aliasList(const AliasTable& aliases, const Principal& principal) {
    auto data = nlohmann::json::array();
    for (const auto& alias : aliases.all()) {
        if (!principal.mayUse(alias.name)) continue;
        auto chain = nlohmann::json::array();
        for (const auto& target : alias.chain) chain.push_back(target.label());
        data.push_back({{"name", alias.name}, {"object", "alias"}, {"description", alias.description}, {"chain", chain},
                        {"default", alias.name == aliases.fallback()}});
    }
    return {{"object", "list"}, {"data", data}};
}

nlohmann::json anthropicModel(const nlohmann::json& openAiModel) {
    const auto created = openAiModel.value("created", std::int64_t{0});
    return {{"type", "model"},
            {"id", openAiModel.at("id")},
            {"display_name", openAiModel.at("id")},
            {"created_at", Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(created), Poco::DateTimeFormat::ISO8601_FORMAT)}};
}

nlohmann::json anthropicModels(const nlohmann::json& openAiList) {
    auto data = nlohmann::json::array();
    for (const auto& model : openAiList.at("data")) data.push_back(anthropicModel(model));
    // One page holds every model: there is never a next one.
    const auto first = data.empty() ? nlohmann::json() : data.front().at("id");
    const auto last = data.empty() ? nlohmann::json() : data.back().at("id");
    return {{"data", data}, {"has_more", false}, {"first_id", first}, {"last_id", last}};
}

} // namespace sluice::kernel
