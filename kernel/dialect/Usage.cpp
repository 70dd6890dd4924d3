#include "Usage.h"

namespace sluice::kernel {

namespace {
// Sets `into` from object[key] when that is a count; false when it is absent.
bool readCount(const nlohmann::json& object, const char* key, std::uint64_t& into) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number_unsigned()) return false;
    into = it->get<std::uint64_t>();
    return true;
}

// A usage object: OpenAI Chat Completions' names, or Anthropic's and the
// Responses API's (input_tokens, output_tokens). Only the counts present
// are set: Anthropic's stream reports input tokens first and output last.
void readUsageObject(const nlohmann::json& object, Usage& usage) {
    bool found = readCount(object, "prompt_tokens", usage.promptTokens);
    found = readCount(object, "completion_tokens", usage.completionTokens) || found;
    // Anthropic counts prompt-cache reads and writes apart from input_tokens;
    // they were prompt all the same (the Responses API's input_tokens
    // already includes its cached_tokens, in a details object).
    if (readCount(object, "input_tokens", usage.promptTokens)) {
        found = true;
        std::uint64_t cached = 0;
        if (readCount(object, "cache_read_input_tokens", cached)) usage.promptTokens += cached;
        if (readCount(object, "cache_creation_input_tokens", cached)) usage.promptTokens += cached;
    }
    found = readCount(object, "output_tokens", usage.completionTokens) || found;
    if (found) usage.reported = true;
}
} // namespace

void readUsage(const nlohmann::json& answer, Usage& usage) {
    if (!answer.is_object()) return;
    if (answer.contains("prompt_eval_count") || answer.contains("eval_count")) {
        usage.promptTokens = 0;
        usage.completionTokens = 0;
        readCount(answer, "prompt_eval_count", usage.promptTokens);
        readCount(answer, "eval_count", usage.completionTokens);
        usage.reported = true;
        return;
    }
    if (const auto it = answer.find("usage"); it != answer.end() && it->is_object()) return readUsageObject(*it, usage);
    // Events that wrap the object: Anthropic's message_start, the Responses API's response.completed.
    for (const char* wrapper : {"message", "response"}) {
        const auto inner = answer.find(wrapper);
        if (inner == answer.end() || !inner->is_object()) continue;
        if (const auto it = inner->find("usage"); it != inner->end() && it->is_object()) return readUsageObject(*it, usage);
    }
}

} // namespace sluice::kernel
