#pragma once
// Which backend hosts which model, built by the discovery loop and published
// as an immutable snapshot: readers hold a shared_ptr and never lock.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/Abi.h"

namespace sluice {

// One model as a backend reported it. `entry` keeps the backend's own JSON
// (Ollama /api/tags entry or OpenAI /v1/models entry) so lists can be answered
// in either protocol without losing fields.
struct ModelEntry {
    std::string name;
    nlohmann::json entry;
};

// What one backend's last successful poll returned.
struct BackendModels {
    std::vector<ModelEntry> models;
    std::vector<ModelEntry> loaded;  // in memory now (Ollama /api/ps); empty for openai kind
    std::chrono::system_clock::time_point polledAt{};
    bool ever = false;  // false until the first successful poll
};

// Whether a requested model name names `hosted`: equal, or one has no tag and
// the other is it with ":latest" (Ollama's default tag; OpenAI-compatible
// servers list the same model without one).
SLUICE_API bool sameModel(const std::string& requested, const std::string& hosted);

class SLUICE_API Catalog {
public:
    Catalog() = default;
    // `backendOrder` is the priority order of backend names.
    Catalog(std::vector<std::string> backendOrder, std::map<std::string, BackendModels> byBackend);

    // Backends that host `model`, in priority order. A name without a tag
    // also matches "<name>:latest", as Ollama does.
    std::vector<std::string> backendsFor(const std::string& model) const;
    // The name the backend knows the model by ("llama3.2" -> "llama3.2:latest"), if hosted.
    std::optional<std::string> resolve(const std::string& backend, const std::string& model) const;
    bool isLoaded(const std::string& backend, const std::string& model) const;

    // The de-duplicated union over all backends, first backend's entry wins.
    std::vector<ModelEntry> allModels() const;
    std::vector<ModelEntry> allLoaded() const;
    const std::map<std::string, BackendModels>& byBackend() const { return _byBackend; }

private:
    std::vector<std::string> _order;
    std::map<std::string, BackendModels> _byBackend;
};

using CatalogSnapshot = std::shared_ptr<const Catalog>;

} // namespace sluice
