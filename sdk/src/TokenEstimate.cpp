#include "sluice/TokenEstimate.h"

namespace sluice {

std::uint64_t codePoints(std::string_view text) {
    std::uint64_t count = 0;
    for (const char c : text)
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;  // not a continuation byte
    return count;
}

namespace {

// Text characters in a value that carries text: a string, or an array of
// strings and of parts, where a part's text is in "text" (a text part of any
// API), "content" (a Responses message item, an Anthropic tool_result) or
// "output" (a Responses function_call_output), each of which may nest parts
// again; nothing else counts. The body's depth is bounded where it was
// parsed (sluice/Json.h), so the recursion is too.
std::uint64_t textIn(const nlohmann::json& value) {
    if (value.is_string()) return codePoints(value.get_ref<const std::string&>());
    std::uint64_t total = 0;
    if (value.is_array())
        for (const auto& item : value) {
            if (item.is_string()) total += codePoints(item.get_ref<const std::string&>());
            else if (item.is_object())
                for (const char* key : {"text", "content", "output"})
                    if (const auto inner = item.find(key); inner != item.end()) total += textIn(*inner);
        }
    return total;
}
} // namespace

std::uint64_t estimateTokens(std::string_view text) { return tokensForCodePoints(codePoints(text)); }

std::uint64_t estimatePromptTokens(const nlohmann::json& body) {
    if (!body.is_object()) return 0;
    std::uint64_t characters = 0;
    for (const char* key : {"prompt", "input", "system", "suffix", "instructions"})
        if (const auto it = body.find(key); it != body.end()) characters += textIn(*it);
    if (const auto messages = body.find("messages"); messages != body.end() && messages->is_array())
        for (const auto& message : *messages)
            if (message.is_object())
                if (const auto content = message.find("content"); content != message.end()) characters += textIn(*content);
    return tokensForCodePoints(characters);
}

} // namespace sluice
