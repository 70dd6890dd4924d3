#include "Usage.h"

#include "sluice/Json.h"

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

namespace {
// A count the frame lacks (Ollama leaves out prompt_eval_count for a cached
// prompt) is the earlier parts' alone.
void addCount(nlohmann::json& object, const char* key, std::uint64_t more) {
    const auto it = object.find(key);
    if (it != object.end() && it->is_number_unsigned()) it->get_ref<nlohmann::json::number_unsigned_t&>() += more;
    else if (it == object.end() && more > 0) object[key] = more;
}

// One frame's JSON with `earlier` added to its counts; false when it has none.
bool addToFrame(nlohmann::json& json, const Usage& earlier) {
    if (!json.is_object()) return false;
    if (json.contains("eval_count") || json.contains("prompt_eval_count")) {
        addCount(json, "prompt_eval_count", earlier.promptTokens);
        addCount(json, "eval_count", earlier.completionTokens);
        return true;
    }
    const auto usage = json.find("usage");
    if (usage == json.end() || !usage->is_object()) return false;
    addCount(*usage, "prompt_tokens", earlier.promptTokens);
    addCount(*usage, "completion_tokens", earlier.completionTokens);
    addCount(*usage, "total_tokens", earlier.promptTokens + earlier.completionTokens);
    return true;
}
} // namespace

void addUsage(Usage& into, const Usage& part) {
    into.promptTokens += part.promptTokens;
    into.completionTokens += part.completionTokens;
    into.reported = into.reported || part.reported;
    into.estimated = into.estimated || part.estimated;
}

void addEarlierUsage(std::string& frames, bool ndjson, const Usage& earlier) {
    if (frames.find(ndjson ? "eval_count\"" : "\"usage\"") == std::string::npos) return;
    std::string out;
    out.reserve(frames.size() + 16);
    std::size_t start = 0;
    while (start < frames.size()) {
        auto end = frames.find('\n', start);
        if (end == std::string::npos) end = frames.size();
        const std::string_view line(frames.data() + start, end - start);
        const std::string_view prefix = ndjson ? std::string_view() : std::string_view("data: ");
        auto json = line.starts_with(ndjson ? "{" : "data: {") ? parseJson(line.substr(prefix.size())) : nlohmann::json();
        if (addToFrame(json, earlier)) out += std::string(prefix) + json.dump();
        else out += line;
        if (end < frames.size()) out += '\n';
        start = end + 1;
    }
    frames = std::move(out);
}

} // namespace sluice::kernel
