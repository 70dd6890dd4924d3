#pragma once
// Token counts as backends report them, read out of their answers.

#include <nlohmann/json.hpp>

#include "sluice/RequestContext.h"

namespace sluice::kernel {

// Reads token counts from an Ollama final object (prompt_eval_count,
// eval_count) or an OpenAI answer or chunk (usage); leaves `usage` as it was
// when `answer` has neither.
void readUsage(const nlohmann::json& answer, Usage& usage);

} // namespace sluice::kernel
