#pragma once
// Token counts as backends report them, read out of their answers.

#include <nlohmann/json.hpp>

#include "sluice/RequestContext.h"

namespace sluice::kernel {

// Reads token counts from an Ollama final object (prompt_eval_count,
// eval_count), an OpenAI, Anthropic or Responses answer or event (usage, at
// the top or inside its "message" or "response"); leaves `usage` as it was
// when `answer` has none, and a count the usage object lacks as it was.
void readUsage(const nlohmann::json& answer, Usage& usage);

} // namespace sluice::kernel
