#include "ModelCatalog.h"

#include <algorithm>
#include <stdexcept>

namespace sluice::fake {

namespace {

std::vector<std::string> stringList(const nlohmann::json& value, const char* field) {
    if (!value.is_array()) throw std::invalid_argument(std::string(field) + " must be an array of strings");
    std::vector<std::string> names;
    for (const auto& item : value) {
        if (!item.is_string()) throw std::invalid_argument(std::string(field) + " must be an array of strings");
        names.push_back(item.get<std::string>());
    }
    return names;
}

bool listHas(const std::vector<std::string>& names, const std::string& name) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return sameModelName(n, name); });
}

}  // namespace

std::string canonicalModelName(const std::string& name) {
    // A tag follows the last ':' after the last '/' (a registry host may carry a port).
    const auto slash = name.rfind('/');
    const auto colon = name.rfind(':');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) return name;
    return name + ":latest";
}

bool sameModelName(const std::string& a, const std::string& b) {
    return a == b || canonicalModelName(a) == canonicalModelName(b);
}

std::vector<std::string> ModelLists::all() const {
    std::vector<std::string> names;
    for (const auto* list : {&models, &embedModels})
        for (const auto& name : *list)
            if (!listHas(names, name)) names.push_back(name);
    return names;
}

nlohmann::json ModelLists::toJson() const {
    return {{"models", models}, {"loaded", loaded}, {"embed_models", embedModels}};
}

ModelCatalog::ModelCatalog(ModelLists lists) : _lists(std::move(lists)) {}

ModelLists ModelCatalog::snapshot() const {
    std::lock_guard lock(_mutex);
    return _lists;
}

void ModelCatalog::update(const nlohmann::json& change) {
    if (!change.is_object()) throw std::invalid_argument("body must be a JSON object");
    ModelLists next = snapshot();
    if (change.contains("models")) next.models = stringList(change["models"], "models");
    if (change.contains("loaded")) next.loaded = stringList(change["loaded"], "loaded");
    if (change.contains("embed_models")) next.embedModels = stringList(change["embed_models"], "embed_models");
    std::lock_guard lock(_mutex);
    _lists = std::move(next);
}

std::optional<std::string> ModelCatalog::find(const std::string& requested) const {
    const auto names = snapshot().all();
    const auto it = std::find_if(names.begin(), names.end(),
                                 [&](const std::string& n) { return sameModelName(n, requested); });
    if (it == names.end()) return std::nullopt;
    return *it;
}

bool ModelCatalog::isEmbedModel(const std::string& name) const {
    std::lock_guard lock(_mutex);
    return listHas(_lists.embedModels, name);
}

}  // namespace sluice::fake
