#pragma once
// JSON from outside the gateway (a client's body, a backend's answer, a
// stream frame) is parsed through here, never with nlohmann::json::parse
// directly.
//
// Why: nlohmann's parser is iterative, but copying a value, dump() and every
// walk over it recurse once per nesting level. A 200 KB body nested 70,000
// deep parses fine and then overflows the stack of the thread that copies it
// (10,000 deep under ASan). Bounding the depth where the bytes come in makes
// every later recursion safe, wherever it happens.

#include <cstddef>
#include <initializer_list>
#include <string_view>

#include <nlohmann/json.hpp>

#include "Abi.h"

namespace sluice {

// Nesting deeper than any real chat request or answer needs (a tool schema
// is a dozen levels), and shallow enough that a recursion of this depth is a
// few KiB of stack.
inline constexpr std::size_t kMaxJsonDepth = 128;

// How deep `text` nests objects and arrays, counting brackets outside
// strings; stops counting at `limit` + 1. Exact for valid JSON; for invalid
// JSON the parser's own refusal follows anyway.
SLUICE_API std::size_t jsonDepth(std::string_view text, std::size_t limit = kMaxJsonDepth);

enum class JsonParse { Ok, Invalid, TooDeep };

// Parses `text` into `out` when it is valid JSON nested at most `maxDepth`
// levels; otherwise leaves `out` discarded and says why.
SLUICE_API JsonParse parseJson(std::string_view text, nlohmann::json& out, std::size_t maxDepth = kMaxJsonDepth);

// The same, for callers that only need the value: discarded when invalid or too deep.
inline nlohmann::json parseJson(std::string_view text, std::size_t maxDepth = kMaxJsonDepth) {
    nlohmann::json out;
    parseJson(text, out, maxDepth);
    return out;
}

// Only the top-level fields of `text` named in `keys`, as an object (a
// repeated key keeps its last value, as in parseJson's tree): for a caller
// that reads a few fields of a large value and passes the rest on. Null when
// `text` is valid JSON but not an object; discarded when parseJson would be.
SLUICE_API nlohmann::json parseJsonFields(std::string_view text, std::initializer_list<std::string_view> keys);

} // namespace sluice
