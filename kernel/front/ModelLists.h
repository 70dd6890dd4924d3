#pragma once
// The gateway's own answers built from the catalog and the aliases: the
// de-duplicated model union in Ollama's, OpenAI's and Anthropic's shapes, with the aliases
// after the models, filtered by what the caller may use; and /v1/aliases.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sluice/Aliases.h"
#include "sluice/Catalog.h"
#include "sluice/Principal.h"

namespace sluice::kernel {

nlohmann::json ollamaTags(const Catalog& catalog, const AliasTable& aliases, const Principal& principal);
nlohmann::json ollamaPs(const Catalog& catalog, const Principal& principal);
nlohmann::json openAiModels(const Catalog& catalog, const AliasTable& aliases, const Principal& principal);
// One model or alias in OpenAI's shape, or nullopt if unknown or not allowed (the same answer).
std::optional<nlohmann::json> openAiModel(const Catalog& catalog, const AliasTable& aliases, const Principal& principal,
                                          const std::string& id);
// The same model, and the same list, in Anthropic's shape: what
// GET /v1/models answers a request that carries anthropic-version.
nlohmann::json anthropicModel(const nlohmann::json& openAiModel);
nlohmann::json anthropicModels(const nlohmann::json& openAiList);
// GET /v1/aliases: each alias the caller may use, with its description and chain.
nlohmann::json aliasList(const AliasTable& aliases, const Principal& principal);

} // namespace sluice::kernel
