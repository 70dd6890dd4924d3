#pragma once
// The gateway's own answers built from the catalog: the de-duplicated model
// union in Ollama's and OpenAI's shapes, filtered by what the caller may use.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sluice/Catalog.h"
#include "sluice/Principal.h"

namespace sluice::kernel {

nlohmann::json ollamaTags(const Catalog& catalog, const Principal& principal);
nlohmann::json ollamaPs(const Catalog& catalog, const Principal& principal);
nlohmann::json openAiModels(const Catalog& catalog, const Principal& principal);
// One model in OpenAI's shape, or nullopt if unknown or not allowed (the same answer).
std::optional<nlohmann::json> openAiModel(const Catalog& catalog, const Principal& principal, const std::string& id);

} // namespace sluice::kernel
