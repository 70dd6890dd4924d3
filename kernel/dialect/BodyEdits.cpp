#include "BodyEdits.h"

#include <nlohmann/json.hpp>

namespace sluice::kernel {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The index just past the string that opens at `at` (a quote), or npos.
std::size_t stringEnd(std::string_view text, std::size_t at) {
    for (std::size_t i = at + 1; i < text.size(); ++i) {
        if (text[i] == '\\') ++i;
        else if (text[i] == '"') return i + 1;
    }
    return std::string_view::npos;
}

std::size_t skipSpace(std::string_view text, std::size_t at) {
    while (at < text.size() && isSpace(text[at])) ++at;
    return at;
}

// Where a top-level member's string value lies: [begin, end), its quotes included.
struct Span {
    std::size_t begin = 0;
    std::size_t end = 0;
};

// The value of top-level `key`, if it is a string and the key appears once,
// spelled without escapes; nullopt otherwise (or on anything unexpected).
std::optional<Span> stringMember(std::string_view text, std::string_view key) {
    std::size_t at = skipSpace(text, 0);
    if (at >= text.size() || text[at] != '{') return std::nullopt;
    std::optional<Span> found;
    int depth = 0;
    bool expectKey = true;  // at depth 1: the next string is a key
    for (; at < text.size(); ++at) {
        const char c = text[at];
        if (c == '"') {
            const auto end = stringEnd(text, at);
            if (end == std::string_view::npos) return std::nullopt;
            if (depth == 1 && expectKey) {
                const auto name = text.substr(at + 1, end - at - 2);
                if (name.find('\\') != std::string_view::npos) {
                    // An escaped key might spell `key`: the tree decides.
                    return std::nullopt;
                }
                expectKey = false;
                if (name == key) {
                    if (found) return std::nullopt;  // twice
                    auto value = skipSpace(text, end);
                    if (value >= text.size() || text[value] != ':') return std::nullopt;
                    value = skipSpace(text, value + 1);
                    if (value >= text.size() || text[value] != '"') return std::nullopt;  // not a string
                    const auto valueEnd = stringEnd(text, value);
                    if (valueEnd == std::string_view::npos) return std::nullopt;
                    found = Span{value, valueEnd};
                    at = valueEnd - 1;
                    continue;
                }
            }
            at = end - 1;
            continue;
        }
        if (c == '{' || c == '[') ++depth;
        else if (c == '}' || c == ']') --depth;
        else if (c == ',' && depth == 1) expectKey = true;
    }
    return found;
}

} // namespace

std::optional<std::string> withStringMember(std::string_view body, std::string_view key, const std::string& value) {
    const auto span = stringMember(body, key);
    if (!span) return std::nullopt;
    const auto quoted = nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(body.size() + quoted.size());
    out.append(body.substr(0, span->begin)).append(quoted).append(body.substr(span->end));
    return out;
}

std::optional<std::string> withFirstMember(std::string_view body, std::string_view member) {
    const auto open = skipSpace(body, 0);
    if (open >= body.size() || body[open] != '{') return std::nullopt;
    const auto first = skipSpace(body, open + 1);
    if (first >= body.size() || body[first] == '}') return std::nullopt;  // empty: no comma to add
    std::string out;
    out.reserve(body.size() + member.size() + 1);
    out.append(body.substr(0, open + 1)).append(member).append(",").append(body.substr(open + 1));
    return out;
}

} // namespace sluice::kernel
