#include "AnswerJson.h"

#include <string_view>

#include <simdjson.h>

#include "sluice/Json.h"
#include "Usage.h"

namespace sluice::kernel {

namespace {

// A thread's parser keeps the buffers its largest answer needed; answers
// past this size get a parser of their own, let go after them, so a rare
// 64 MiB answer does not leave every thread holding its buffers.
constexpr std::size_t kKeptCapacity = 256 * 1024;

// simdjson counts an object one level deeper than jsonDepth does: with the
// same limit it refuses some answers parseJson takes (those go the slow
// way, which decides) and takes none that parseJson refuses.
// Null when its buffers could not be had: the slow way takes every answer.
simdjson::dom::parser* threadParser() {
    thread_local simdjson::dom::parser parser(kKeptCapacity);
    thread_local const bool ready = parser.allocate(kKeptCapacity, kMaxJsonDepth) == simdjson::SUCCESS;
    return ready ? &parser : nullptr;
}

// A value as nlohmann's parser would have made it: a number that is not
// negative is unsigned, as readUsage's counts must be.
nlohmann::json toTree(simdjson::dom::element element) {
    using Type = simdjson::dom::element_type;
    switch (element.type()) {
    case Type::OBJECT: {
        auto object = nlohmann::json::object();
        // A repeated key keeps its last value, as nlohmann's parser does.
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

// The top-level fields readUsage looks at; of the two wrappers (Anthropic's
// message, the Responses API's response) only their usage is kept.
nlohmann::json countFieldsOf(simdjson::dom::element root) {
    if (root.type() != simdjson::dom::element_type::OBJECT) return nullptr;  // no counts: readUsage reads objects
    auto fields = nlohmann::json::object();
    for (const auto field : simdjson::dom::object(root)) {
        const std::string_view key = field.key;
        if (key == "prompt_eval_count" || key == "eval_count" || key == "usage") {
            fields[std::string(key)] = toTree(field.value);
        } else if (key == "message" || key == "response") {
            auto wrapper = nlohmann::json::object();
            if (field.value.type() == simdjson::dom::element_type::OBJECT) {
                for (const auto inner : simdjson::dom::object(field.value))
                    if (inner.key == "usage") wrapper["usage"] = toTree(inner.value);
            } else {
                wrapper = nullptr;  // not an object: readUsage passes it by
            }
            fields[std::string(key)] = std::move(wrapper);
        }
    }
    return fields;
}

} // namespace

AnswerJson::AnswerJson(std::string bytes) : _bytes(std::move(bytes)) {
    simdjson::dom::element root;
    auto read = [&](simdjson::dom::parser& parser) {
        if (parser.parse(_bytes.data(), _bytes.size(), true).get(root) != simdjson::SUCCESS) return false;
        _countFields = countFieldsOf(root);
        return true;
    };
    if (_bytes.size() <= kKeptCapacity) {
        auto* parser = threadParser();
        _valid = parser && read(*parser);
    } else {
        simdjson::dom::parser own(_bytes.size());
        _valid = own.allocate(_bytes.size(), kMaxJsonDepth) == simdjson::SUCCESS && read(own);
    }
    if (_valid) return;
    // Refused (or too big for a parser's buffers): nlohmann's parser decides,
    // as it does for every request body, so both agree on what is JSON.
    _tree = parseJson(_bytes);
    _valid = !_tree->is_discarded();
}

const nlohmann::json& AnswerJson::tree() {
    if (!_tree) _tree = parseJson(_bytes);
    return *_tree;
}

Usage AnswerJson::usage() {
    Usage usage;
    if (!_valid) return usage;
    readUsage(_countFields ? *_countFields : tree(), usage);
    return usage;
}

} // namespace sluice::kernel
