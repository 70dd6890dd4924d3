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

// Adds one part's counts to `into` (a stream continued by another backend):
// tokens summed, reported or estimated if either part was.
void addUsage(Usage& into, const Usage& part);

// Adds `earlier` to the token counts in the frames of a chat stream in the
// client's protocol (Ollama's final NDJSON line, an OpenAI usage object in
// an SSE data line), so a stream another backend continued reports what
// both parts spent. Frames without counts are left byte for byte.
void addEarlierUsage(std::string& frames, bool ndjson, const Usage& earlier);

} // namespace sluice::kernel
