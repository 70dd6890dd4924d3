#include "sluice/Json.h"

namespace sluice {

std::size_t jsonDepth(std::string_view text, std::size_t limit) {
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool inString = false;
    bool escaped = false;
    for (const char c : text) {
        if (inString) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') inString = false;
            continue;
        }
        switch (c) {
        case '"': inString = true; break;
        case '{':
        case '[':
            if (++depth > deepest && (deepest = depth) > limit) return deepest;
            break;
        case '}':
        case ']':
            if (depth > 0) --depth;
            break;
        default: break;
        }
    }
    return deepest;
}

JsonParse parseJson(std::string_view text, nlohmann::json& out, std::size_t maxDepth) {
    out = nlohmann::json(nlohmann::json::value_t::discarded);
    if (jsonDepth(text, maxDepth) > maxDepth) return JsonParse::TooDeep;
    out = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    return out.is_discarded() ? JsonParse::Invalid : JsonParse::Ok;
}

} // namespace sluice
