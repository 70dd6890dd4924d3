#pragma once
// The models the fake claims to have. Tests swap the lists at run time
// (POST /_fake/models) to simulate pulls, deletions and unloads, so every read
// takes a snapshot under a short lock and nothing holds it while answering.

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::fake {

// Ollama's naming rule: a name without a tag means ":latest".
std::string canonicalModelName(const std::string& name);
bool sameModelName(const std::string& a, const std::string& b);

// The three lists as one value: chat models, loaded ones, embedding models.
struct ModelLists {
    std::vector<std::string> models;
    std::vector<std::string> loaded;
    std::vector<std::string> embedModels;

    // Chat models then embedding models, without duplicates.
    std::vector<std::string> all() const;
    nlohmann::json toJson() const;
};

// Thread-safe holder of the lists.
class ModelCatalog {
public:
    explicit ModelCatalog(ModelLists lists);

    ModelLists snapshot() const;
    // Replaces the lists present in {"models","loaded","embed_models"}; throws
    // std::invalid_argument when a present field is not an array of strings.
    void update(const nlohmann::json& change);
    // The listed name (chat or embedding) that `requested` names, if any.
    std::optional<std::string> find(const std::string& requested) const;
    bool isEmbedModel(const std::string& name) const;

private:
    mutable std::mutex _mutex;
    ModelLists _lists;
};

}  // namespace sluice::fake
