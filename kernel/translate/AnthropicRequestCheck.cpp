// messagesRequestProblem() and isAnthropicServerTool() (declared in
// AnthropicOpenAi.h): a Messages API request checked field by field, kept
// apart from the translation it guards.
#include <initializer_list>
#include <string_view>

#include "AnthropicOpenAi.h"
#include "ChatEvents.h"

namespace sluice::kernel {

namespace {
using nlohmann::json;
using Problem = std::optional<std::string>;

// Problems are worded as Anthropic words them: "<path>: <what>".
std::string pathOf(const std::string& base, std::string_view name) {
    return base.empty() ? std::string(name) : base + "." + std::string(name);
}
std::string pathOf(const std::string& base, std::size_t index) { return base + "." + std::to_string(index); }

Problem problemAt(const std::string& path, std::string_view what) { return path + ": " + std::string(what); }

enum class Type { String, Integer, Number, Boolean, Object, Array };

bool hasType(const json& value, Type type) {
    switch (type) {
    case Type::String: return value.is_string();
    case Type::Integer: return value.is_number_integer();
    case Type::Number: return value.is_number();
    case Type::Boolean: return value.is_boolean();
    case Type::Object: return value.is_object();
    case Type::Array: return value.is_array();
    }
    return false;
}

std::string_view typeWording(Type type) {
    switch (type) {
    case Type::String: return "Input should be a valid string";
    case Type::Integer: return "Input should be a valid integer";
    case Type::Number: return "Input should be a valid number";
    case Type::Boolean: return "Input should be a valid boolean";
    case Type::Object: return "Input should be a valid dictionary";
    case Type::Array: return "Input should be a valid list";
    }
    return "Input has the wrong type";
}

// An optional field may be absent or null; a required one must be there.
enum class Presence { Required, Optional };

Problem fieldProblem(const json& object, const std::string& base, const char* name, Type type, Presence presence) {
    const auto it = object.find(name);
    if (it == object.end() || (it->is_null() && presence == Presence::Optional))
        return presence == Presence::Required ? problemAt(pathOf(base, name), "Field required") : std::nullopt;
    return hasType(*it, type) ? std::nullopt : problemAt(pathOf(base, name), typeWording(type));
}

// A required string field that must be one of `allowed`: "Input should be 'a', 'b' or 'c'".
Problem choiceProblem(const json& object, const std::string& base, const char* name, std::initializer_list<std::string_view> allowed) {
    if (auto problem = fieldProblem(object, base, name, Type::String, Presence::Required)) return problem;
    const auto& value = object[name].get_ref<const std::string&>();
    std::string wording = "Input should be ";
    std::size_t i = 0;
    for (const auto choice : allowed) {
        if (value == choice) return std::nullopt;
        wording += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + ("'" + std::string(choice) + "'");
        ++i;
    }
    return problemAt(pathOf(base, name), wording);
}

Problem imageProblem(const json& block, const std::string& path, RequestCheck check) {
    if (auto problem = fieldProblem(block, path, "source", Type::Object, Presence::Required)) return problem;
    if (check == RequestCheck::Envelope) return std::nullopt;  // Anthropic's API also takes file sources
    const auto& source = block["source"];
    const auto sourcePath = pathOf(path, "source");
    if (auto problem = choiceProblem(source, sourcePath, "type", {"base64", "url"})) return problem;
    if (source["type"] == "url") return fieldProblem(source, sourcePath, "url", Type::String, Presence::Required);
    if (auto problem = choiceProblem(source, sourcePath, "media_type", {"image/jpeg", "image/png", "image/gif", "image/webp"}))
        return problem;
    return fieldProblem(source, sourcePath, "data", Type::String, Presence::Required);
}

// The blocks a tool result may hold: text and images.
Problem toolResultProblem(const json& block, const std::string& path, RequestCheck check) {
    if (auto problem = fieldProblem(block, path, "tool_use_id", Type::String, Presence::Required)) return problem;
    if (auto problem = fieldProblem(block, path, "is_error", Type::Boolean, Presence::Optional)) return problem;
    const auto& content = field(block, "content");
    const auto contentPath = pathOf(path, "content");
    if (content.is_null() || content.is_string()) return std::nullopt;
    if (!content.is_array()) return problemAt(contentPath, "Input should be a valid string or a list of content blocks");
    for (std::size_t i = 0; i < content.size(); ++i) {
        const auto& part = content[i];
        const auto partPath = pathOf(contentPath, i);
        if (!part.is_object()) return problemAt(partPath, typeWording(Type::Object));
        if (auto problem = fieldProblem(part, partPath, "type", Type::String, Presence::Required)) return problem;
        const auto& type = part["type"].get_ref<const std::string&>();
        if (type == "text") {
            if (auto problem = fieldProblem(part, partPath, "text", Type::String, Presence::Required)) return problem;
        } else if (type == "image") {
            if (auto problem = imageProblem(part, partPath, check)) return problem;
        } else if (check == RequestCheck::Translation) {
            return problemAt(partPath, "unsupported content block type '" + type + "' in a tool result");
        }
    }
    return std::nullopt;
}

Problem blockProblem(const json& block, const std::string& path, const std::string& role, RequestCheck check) {
    if (!block.is_object()) return problemAt(path, typeWording(Type::Object));
    if (auto problem = fieldProblem(block, path, "type", Type::String, Presence::Required)) return problem;
    const auto& type = block["type"].get_ref<const std::string&>();
    if (type == "text") return fieldProblem(block, path, "text", Type::String, Presence::Required);
    if (type == "image") return imageProblem(block, path, check);
    if (type == "tool_use") {
        if (role != "assistant") return problemAt(path, "tool_use blocks are only allowed in assistant messages");
        if (auto problem = fieldProblem(block, path, "id", Type::String, Presence::Required)) return problem;
        if (auto problem = fieldProblem(block, path, "name", Type::String, Presence::Required)) return problem;
        return fieldProblem(block, path, "input", Type::Object, Presence::Required);
    }
    if (type == "tool_result") {
        if (role != "user") return problemAt(path, "tool_result blocks are only allowed in user messages");
        return toolResultProblem(block, path, check);
    }
    if (type == "thinking") return fieldProblem(block, path, "thinking", Type::String, Presence::Required);
    if (type == "redacted_thinking") return fieldProblem(block, path, "data", Type::String, Presence::Required);
    // Anthropic's other blocks (server_tool_use, web_search_tool_result,
    // document, search_result, …) pass on to a backend that serves the API;
    // the translation has nothing to turn them into.
    if (check == RequestCheck::Envelope) return std::nullopt;
    return problemAt(path, "unknown content block type '" + type + "'");
}

Problem messageProblem(const json& message, const std::string& path, RequestCheck check) {
    if (!message.is_object()) return problemAt(path, typeWording(Type::Object));
    if (auto problem = choiceProblem(message, path, "role", {"user", "assistant"})) return problem;
    const auto contentPath = pathOf(path, "content");
    if (!message.contains("content")) return problemAt(contentPath, "Field required");
    const auto& content = message["content"];
    if (content.is_string()) return std::nullopt;
    if (!content.is_array()) return problemAt(contentPath, "Input should be a valid string or a list of content blocks");
    const auto& role = message["role"].get_ref<const std::string&>();
    for (std::size_t i = 0; i < content.size(); ++i)
        if (auto problem = blockProblem(content[i], pathOf(contentPath, i), role, check)) return problem;
    return std::nullopt;
}

Problem systemProblem(const json& body) {
    const auto& system = field(body, "system");
    if (system.is_null() || system.is_string()) return std::nullopt;
    if (!system.is_array()) return problemAt("system", "Input should be a valid string or a list of text blocks");
    for (std::size_t i = 0; i < system.size(); ++i) {
        const auto path = pathOf("system", i);
        if (!system[i].is_object()) return problemAt(path, typeWording(Type::Object));
        if (auto problem = choiceProblem(system[i], path, "type", {"text"})) return problem;
        if (auto problem = fieldProblem(system[i], path, "text", Type::String, Presence::Required)) return problem;
    }
    return std::nullopt;
}

Problem toolsProblem(const json& body) {
    if (auto problem = fieldProblem(body, "", "tools", Type::Array, Presence::Optional)) return problem;
    const auto& tools = field(body, "tools");
    for (std::size_t i = 0; tools.is_array() && i < tools.size(); ++i) {
        const auto& tool = tools[i];
        const auto path = pathOf("tools", i);
        if (!tool.is_object()) return problemAt(path, typeWording(Type::Object));
        if (auto problem = fieldProblem(tool, path, "type", Type::String, Presence::Optional)) return problem;
        if (auto problem = fieldProblem(tool, path, "name", Type::String, Presence::Required)) return problem;
        if (isAnthropicServerTool(tool)) continue;  // the rest of its fields are Anthropic's to check
        if (auto problem = fieldProblem(tool, path, "description", Type::String, Presence::Optional)) return problem;
        if (auto problem = fieldProblem(tool, path, "input_schema", Type::Object, Presence::Required)) return problem;
    }
    if (auto problem = fieldProblem(body, "", "tool_choice", Type::Object, Presence::Optional)) return problem;
    const auto& choice = field(body, "tool_choice");
    if (choice.is_null()) return std::nullopt;
    if (auto problem = choiceProblem(choice, "tool_choice", "type", {"auto", "any", "tool", "none"})) return problem;
    if (choice["type"] == "tool")
        if (auto problem = fieldProblem(choice, "tool_choice", "name", Type::String, Presence::Required)) return problem;
    return fieldProblem(choice, "tool_choice", "disable_parallel_tool_use", Type::Boolean, Presence::Optional);
}

Problem samplingProblem(const json& body) {
    if (auto problem = fieldProblem(body, "", "stop_sequences", Type::Array, Presence::Optional)) return problem;
    const auto& stops = field(body, "stop_sequences");
    for (std::size_t i = 0; stops.is_array() && i < stops.size(); ++i)
        if (!stops[i].is_string()) return problemAt(pathOf("stop_sequences", i), typeWording(Type::String));
    static const std::pair<const char*, Type> kOptional[] = {{"temperature", Type::Number}, {"top_p", Type::Number},
                                                             {"top_k", Type::Integer},      {"stream", Type::Boolean},
                                                             {"metadata", Type::Object},    {"thinking", Type::Object}};
    for (const auto& [name, type] : kOptional)
        if (auto problem = fieldProblem(body, "", name, type, Presence::Optional)) return problem;
    const auto& metadata = field(body, "metadata");
    return metadata.is_object() ? fieldProblem(metadata, "metadata", "user_id", Type::String, Presence::Optional) : std::nullopt;
}

} // namespace

std::optional<std::string> messagesRequestProblem(const json& body, RequestCheck check) {
    if (!body.is_object()) return "the request body must be a JSON object";
    if (auto problem = fieldProblem(body, "", "model", Type::String, Presence::Required)) return problem;
    if (auto problem = fieldProblem(body, "", "max_tokens", Type::Integer, Presence::Required)) return problem;
    const auto& maxTokens = body["max_tokens"];
    if (maxTokens.is_number_unsigned() ? maxTokens.get<std::uint64_t>() == 0 : maxTokens.get<std::int64_t>() < 1)
        return problemAt("max_tokens", "Input should be greater than or equal to 1");
    if (auto problem = fieldProblem(body, "", "messages", Type::Array, Presence::Required)) return problem;
    const auto& messages = body["messages"];
    if (messages.empty()) return problemAt("messages", "at least one message is required");
    for (std::size_t i = 0; i < messages.size(); ++i)
        if (auto problem = messageProblem(messages[i], pathOf("messages", i), check)) return problem;
    if (auto problem = systemProblem(body)) return problem;
    if (auto problem = samplingProblem(body)) return problem;
    return toolsProblem(body);
}

bool isAnthropicServerTool(const json& tool) {
    const auto& type = field(tool, "type");
    return type.is_string() && type != "custom";
}

} // namespace sluice::kernel
