#include "sluice/Json.h"

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include <simdjson.h>

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

namespace {

// simdjson checks and reads JSON about fifteen times faster than nlohmann's
// parser, whose tree the SDK hands out: the bytes are read by simdjson and
// the tree built from its reading. What simdjson refuses (a number past 64
// bits, a byte-order mark, anything invalid) nlohmann's parser decides, so
// the two can only differ in speed. simdjson counts an object one level
// deeper than jsonDepth: with the same limit it refuses some values
// parseJson takes (those go the slow way) and takes none it refuses.
// docs/architecture.md, "Decision: two JSON parsers".

// A thread's parser keeps the buffers its largest value needed (about 14
// bytes per byte read): values up to this size share it.
constexpr std::size_t kKeptCapacity = 64 * 1024;
// Past this, a parser of its own for one value, let go after it; past the
// next, nlohmann's parser alone (its tree is no bigger than simdjson's buffers).
constexpr std::size_t kFastLimit = 1024 * 1024;

// Null when its buffers could not be had: the slow way takes every value.
simdjson::dom::parser* threadParser() {
    thread_local simdjson::dom::parser parser(kKeptCapacity);
    thread_local const bool ready = parser.allocate(kKeptCapacity, kMaxJsonDepth) == simdjson::SUCCESS;
    return ready ? &parser : nullptr;
}

// A value as nlohmann's parser makes it: a number that is not negative is
// unsigned; a repeated key keeps its last value.
nlohmann::json toTree(simdjson::dom::element element) {
    using Type = simdjson::dom::element_type;
    switch (element.type()) {
    case Type::OBJECT: {
        auto object = nlohmann::json::object();
        for (const auto field : simdjson::dom::object(element)) object[std::string(field.key)] = toTree(field.value);
        return object;
    }
    case Type::ARRAY: {
        auto array = nlohmann::json::array();
        for (const auto item : simdjson::dom::array(element)) array.push_back(toTree(item));
        return array;
    }
    case Type::INT64: {
        const auto number = int64_t(element);
        if (number >= 0) return static_cast<std::uint64_t>(number);
        return number;
    }
    case Type::UINT64: return uint64_t(element);
    case Type::DOUBLE: return double(element);
    case Type::STRING: return std::string(std::string_view(element));
    case Type::BOOL: return bool(element);
    case Type::NULL_VALUE: return nullptr;
    }
    return nullptr;
}

// Whether `text` may hold the number -0: nlohmann makes it a signed zero,
// simdjson an unsigned one (its reading keeps no sign of a zero). Looked for
// cheaply and on the safe side ("-0" after a blank in a string counts too).
bool mayHoldNegativeZero(std::string_view text) {
    for (auto at = text.find("-0"); at != std::string_view::npos; at = text.find("-0", at + 2)) {
        const char before = at > 0 ? text[at - 1] : ' ';
        const char after = at + 2 < text.size() ? text[at + 2] : ' ';
        const bool starts = before == ':' || before == '[' || before == ',' || before == ' ' || before == '\t' ||
                            before == '\n' || before == '\r';
        const bool integer = !(after >= '0' && after <= '9') && after != '.' && after != 'e' && after != 'E';
        if (starts && integer) return true;
    }
    return false;
}

// Reads `text` with simdjson and gives its root to `read`; false when
// simdjson refused it (or it is past kFastLimit, or may hold a -0): the
// slow way decides.
template <typename Read>
bool parseFast(std::string_view text, Read&& read) {
    if (text.size() > kFastLimit || mayHoldNegativeZero(text)) return false;
    auto* parser = threadParser();
    std::optional<simdjson::dom::parser> own;
    if (text.size() > kKeptCapacity) {
        own.emplace(text.size());
        parser = own->allocate(text.size(), kMaxJsonDepth) == simdjson::SUCCESS ? &*own : nullptr;
    }
    simdjson::dom::element root;
    if (!parser || parser->parse(text.data(), text.size(), true).get(root) != simdjson::SUCCESS) return false;
    read(root);
    return true;
}

// nlohmann's parser under the depth bound: what decides whatever simdjson refuses.
JsonParse parseSlow(std::string_view text, nlohmann::json& out, std::size_t maxDepth) {
    out = nlohmann::json(nlohmann::json::value_t::discarded);
    // nlohmann's parser takes a NUL byte for the end of its input, and so
    // took `{"model":"a"}\0anything` as valid, where the backend reads all
    // of it. JSON has no raw NUL anywhere (found by fuzz.json-parsers).
    if (text.find('\0') != std::string_view::npos) return JsonParse::Invalid;
    if (jsonDepth(text, maxDepth) > maxDepth) return JsonParse::TooDeep;
    out = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    return out.is_discarded() ? JsonParse::Invalid : JsonParse::Ok;
}

bool named(std::string_view key, std::initializer_list<std::string_view> keys) {
    for (const auto wanted : keys)
        if (key == wanted) return true;
    return false;
}

} // namespace

JsonParse parseJson(std::string_view text, nlohmann::json& out, std::size_t maxDepth) {
    if (maxDepth == kMaxJsonDepth && parseFast(text, [&](simdjson::dom::element root) { out = toTree(root); }))
        return JsonParse::Ok;
    return parseSlow(text, out, maxDepth);
}

nlohmann::json parseJsonFields(std::string_view text, std::initializer_list<std::string_view> keys) {
    nlohmann::json fields;
    const bool fast = parseFast(text, [&](simdjson::dom::element root) {
        if (root.type() != simdjson::dom::element_type::OBJECT) return;  // null: no fields
        fields = nlohmann::json::object();
        for (const auto field : simdjson::dom::object(root))
            if (named(field.key, keys)) fields[std::string(field.key)] = toTree(field.value);
    });
    if (fast) return fields;
    nlohmann::json tree;
    parseSlow(text, tree, kMaxJsonDepth);  // simdjson has refused it already
    if (!tree.is_object()) return tree.is_discarded() ? tree : nlohmann::json();
    fields = nlohmann::json::object();
    for (auto& [key, value] : tree.items())
        if (named(key, keys)) fields[key] = std::move(value);
    return fields;
}

} // namespace sluice
