#include "sluice/Catalog.h"

#include <set>

namespace sluice {

namespace {
// Whether `tagged` is `bare` + ":latest" and `bare` has no tag.
bool latestOf(const std::string& bare, const std::string& tagged) {
    static constexpr std::string_view kLatest = ":latest";
    return bare.find(':') == std::string::npos && tagged.size() == bare.size() + kLatest.size() &&
           tagged.compare(0, bare.size(), bare) == 0 && tagged.ends_with(kLatest);
}
} // namespace

bool sameModel(const std::string& requested, const std::string& hosted) {
    return requested == hosted || latestOf(requested, hosted) || latestOf(hosted, requested);
}

Catalog::Catalog(std::vector<std::string> backendOrder, std::map<std::string, BackendModels> byBackend)
    : _order(std::move(backendOrder)), _byBackend(std::move(byBackend)) {}

namespace {
const ModelEntry* findModel(const std::vector<ModelEntry>& models, const std::string& model) {
    for (const auto& entry : models)
        if (sameModel(model, entry.name)) return &entry;
    return nullptr;
}

std::vector<ModelEntry> unionOf(const std::vector<std::string>& order,
                                const std::map<std::string, BackendModels>& byBackend,
                                std::vector<ModelEntry> BackendModels::*list) {
    std::vector<ModelEntry> all;
    std::set<std::string> seen;
    for (const auto& name : order) {
        auto it = byBackend.find(name);
        if (it == byBackend.end()) continue;
        // "llama3.2" (an OpenAI-compatible server) and "llama3.2:latest" (Ollama) are one model.
        for (const auto& entry : it->second.*list)
            if (seen.insert(entry.name.find(':') == std::string::npos ? entry.name + ":latest" : entry.name).second)
                all.push_back(entry);
    }
    return all;
}
} // namespace

std::vector<std::string> Catalog::backendsFor(const std::string& model) const {
    std::vector<std::string> hosts;
    for (const auto& name : _order) {
        auto it = _byBackend.find(name);
        if (it != _byBackend.end() && findModel(it->second.models, model)) hosts.push_back(name);
    }
    return hosts;
}

std::optional<std::string> Catalog::resolve(const std::string& backend, const std::string& model) const {
    auto it = _byBackend.find(backend);
    if (it == _byBackend.end()) return std::nullopt;
    if (const auto* entry = findModel(it->second.models, model)) return entry->name;
    return std::nullopt;
}

bool Catalog::isLoaded(const std::string& backend, const std::string& model) const {
    auto it = _byBackend.find(backend);
    return it != _byBackend.end() && findModel(it->second.loaded, model) != nullptr;
}

std::vector<ModelEntry> Catalog::allModels() const { return unionOf(_order, _byBackend, &BackendModels::models); }
std::vector<ModelEntry> Catalog::allLoaded() const { return unionOf(_order, _byBackend, &BackendModels::loaded); }

} // namespace sluice
