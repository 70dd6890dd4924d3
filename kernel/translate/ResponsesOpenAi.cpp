// The client-to-backend half of ResponsesOpenAi.h: checking a Responses
// request and rewriting it as a chat request. The answer's way back is
// ResponsesAnswer.cpp.
#include "ResponsesOpenAi.h"

#include <algorithm>
#include <array>

#include "ChatEvents.h"

namespace sluice::kernel {

namespace {
using nlohmann::json;
using Problem = std::optional<std::string>;

// A field's value, or nullptr when it is missing or null: OpenAI treats an
// optional field sent as null as not sent.
const json* present(const json& object, const char* key) {
    const auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
}

// How an unexpected type name is quoted back: strings as they are, anything else as JSON.
std::string spelled(const json& type) { return type.is_string() ? type.get<std::string>() : jsonText(type); }

// An item's type; an item with a role and no type is a message (the SDKs send
// {"role":"user","content":"…"} for short).
std::string itemType(const json& item) {
    if (const auto* type = present(item, "type")) return spelled(*type);
    return present(item, "role") ? "message" : std::string();
}

bool isStringField(const json& object, const char* key) {
    const auto it = object.find(key);
    return it != object.end() && it->is_string();
}

// --- Checking the request ---

Problem contentPartProblem(const json& part, const std::string& where, RequestCheck check) {
    if (!part.is_object()) return where + " must be an object";
    const auto type = spelled(part.value("type", json("")));
    if (type == "input_text" || type == "output_text")
        return isStringField(part, "text") ? Problem() : where + ".text must be a string";
    if (type == "refusal") return isStringField(part, "refusal") ? Problem() : where + ".refusal must be a string";
    if (type == "input_image") {
        if (const auto* detail = present(part, "detail"); detail && !detail->is_string())
            return where + ".detail must be a string";
        if (isStringField(part, "image_url")) return std::nullopt;
        if (present(part, "file_id") && check == RequestCheck::Envelope) return std::nullopt;
        if (present(part, "file_id")) return where + ": an input_image by file_id is not supported (this gateway keeps no files); send image_url";
        return where + ".image_url must be a string (a data: or http(s): URL)";
    }
    // Files and parts the translation does not know pass on to a backend that serves the API.
    if (check == RequestCheck::Envelope) return std::nullopt;
    if (type == "input_file") return where + ": input_file is not supported";
    return where + ": unknown content type '" + type + "'";
}

Problem partsProblem(const json& parts, const std::string& where, RequestCheck check) {
    for (std::size_t i = 0; i < parts.size(); ++i)
        if (auto problem = contentPartProblem(parts[i], where + "[" + std::to_string(i) + "]", check)) return problem;
    return std::nullopt;
}

Problem messageProblem(const json& item, const std::string& where, RequestCheck check) {
    static constexpr std::array<std::string_view, 4> kRoles{"user", "assistant", "system", "developer"};
    const auto role = item.value("role", json());
    if (!role.is_string() || std::find(kRoles.begin(), kRoles.end(), role.get<std::string>()) == kRoles.end())
        return where + ": role must be user, assistant, system or developer, not " + jsonText(role);
    const auto* content = present(item, "content");
    if (content && content->is_string()) return std::nullopt;
    if (content && content->is_array()) return partsProblem(*content, where + ".content", check);
    return where + ".content must be a string or an array of content parts";
}

Problem itemProblem(const json& item, std::size_t index, RequestCheck check) {
    const auto where = "input[" + std::to_string(index) + "]";
    if (!item.is_object()) return where + " must be an object";
    const auto type = itemType(item);
    if (type == "message") return messageProblem(item, where, check);
    if (type == "function_call") {
        for (const char* key : {"call_id", "name", "arguments"})
            if (!isStringField(item, key)) return where + "." + key + " must be a string";
        return std::nullopt;
    }
    if (type == "function_call_output") {
        if (!isStringField(item, "call_id")) return where + ".call_id must be a string";
        const auto* output = present(item, "output");
        if (output && output->is_string()) return std::nullopt;
        if (output && output->is_array()) return partsProblem(*output, where + ".output", check);
        return where + ".output must be a string or an array of content parts";
    }
    if (type == "reasoning") return std::nullopt;
    if (type.empty()) return where + " has no type";
    // Codex's custom_tool_call, local_shell_call, web_search_call and other
    // items pass on to a backend that serves the API (OpenAI's own keeps
    // item references too); the translation has nothing to turn them into.
    if (check == RequestCheck::Envelope) return std::nullopt;
    if (type == "item_reference")
        return where + ": item_reference needs stored responses, which this gateway does not keep; send the items themselves (with store: false)";
    return where + ": unknown item type '" + type + "'";
}

Problem toolsProblem(const json& tools) {
    if (!tools.is_array()) return std::string("tools must be an array");
    for (std::size_t i = 0; i < tools.size(); ++i) {
        const auto where = "tools[" + std::to_string(i) + "]";
        if (!tools[i].is_object()) return where + " must be an object";
        if (!isStringField(tools[i], "type")) return where + ".type must be a string";
        if (tools[i]["type"] == "function" && !isStringField(tools[i], "name")) return where + ".name must be a string";
    }
    return std::nullopt;
}

Problem toolChoiceProblem(const json& choice, RequestCheck check) {
    if (choice == "auto" || choice == "none" || choice == "required") return std::nullopt;
    // allowed_tools, custom, hosted tools: the API's own to check.
    if (check == RequestCheck::Envelope && choice.is_object() && isStringField(choice, "type")) return std::nullopt;
    if (choice.is_object() && choice.value("type", json()) == "function" && isStringField(choice, "name")) return std::nullopt;
    return std::string(R"(tool_choice must be "auto", "none", "required" or {"type":"function","name":"…"})");
}

Problem textProblem(const json& text) {
    if (!text.is_object()) return std::string("text must be an object");
    const auto* format = present(text, "format");
    if (!format) return std::nullopt;
    if (!format->is_object()) return std::string("text.format must be an object");
    const auto type = format->value("type", json());
    if (type == "text" || type == "json_object") return std::nullopt;
    if (type != "json_schema") return std::string("text.format.type must be text, json_object or json_schema");
    if (!isStringField(*format, "name")) return std::string("text.format.name must be a string for json_schema");
    if (!format->contains("schema") || !(*format)["schema"].is_object())
        return std::string("text.format.schema must be an object for json_schema");
    return std::nullopt;
}

// Optional fields whose only check is their JSON type.
Problem typeProblem(const json& body) {
    struct Expected {
        const char* key;
        bool (json::*is)() const noexcept;
        const char* what;
    };
    static constexpr std::array<Expected, 8> kExpected{{
        {"instructions", &json::is_string, "a string"},
        {"previous_response_id", &json::is_string, "a string"},
        {"temperature", &json::is_number, "a number"},
        {"top_p", &json::is_number, "a number"},
        {"stream", &json::is_boolean, "a boolean"},
        {"parallel_tool_calls", &json::is_boolean, "a boolean"},
        {"reasoning", &json::is_object, "an object"},
        {"metadata", &json::is_object, "an object"},
    }};
    for (const auto& expected : kExpected)
        if (const auto* value = present(body, expected.key); value && !(value->*expected.is)())
            return std::string(expected.key) + " must be " + expected.what;
    return std::nullopt;
}

// --- The chat request ---

// Responses content as chat content: all-text content becomes one string
// (what every OpenAI-compatible backend takes, in every role), content with
// an image stays a list of parts.
json chatContent(const json& content) {
    if (content.is_string()) return content;
    json parts = json::array();
    std::string text;
    bool onlyText = true;
    for (const auto& part : content) {
        const auto type = textOf(part.value("type", json()));
        if (type == "input_image") {
            json image = {{"url", part["image_url"]}};
            if (const auto* detail = present(part, "detail")) image["detail"] = *detail;
            parts.push_back({{"type", "image_url"}, {"image_url", std::move(image)}});
            onlyText = false;
            continue;
        }
        const auto piece = textOf(part.value(type == "refusal" ? "refusal" : "text", json()));
        parts.push_back({{"type", "text"}, {"text", piece}});
        text += piece;
    }
    return onlyText ? json(text) : parts;
}

// A tool's output as the text of a tool message: its text parts joined.
std::string toolOutput(const json& output) {
    if (output.is_string()) return output.get<std::string>();
    std::string text;
    for (const auto& part : output) {
        const auto type = textOf(part.value("type", json()));
        if (type == "input_text" || type == "output_text") text += textOf(part.value("text", json()));
    }
    return text;
}

// The assistant message a function call joins: the last message, when it is
// the assistant's. Chat Completions keeps a turn's text and its calls in one
// message, and wants the tool results right after it.
json* assistantTurn(json& messages) {
    if (messages.empty() || messages.back().value("role", json()) != "assistant") return nullptr;
    return &messages.back();
}

void addFunctionCall(const json& item, json& messages) {
    json call = {{"id", item["call_id"]}, {"type", "function"},
                 {"function", {{"name", item["name"]}, {"arguments", item["arguments"]}}}};
    if (auto* turn = assistantTurn(messages)) {
        if (!turn->contains("tool_calls")) (*turn)["tool_calls"] = json::array();
        (*turn)["tool_calls"].push_back(std::move(call));
        return;
    }
    messages.push_back({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array({std::move(call)})}});
}

void addMessage(const json& item, json& messages) {
    auto role = item["role"].get<std::string>();
    if (role == "developer") role = "system";
    auto content = chatContent(item["content"]);
    // Assistant text replayed between a turn's calls and their results joins
    // that turn: a message of its own would part the calls from their results.
    if (auto* turn = assistantTurn(messages); turn && role == "assistant" && turn->contains("tool_calls") && content.is_string()) {
        auto& earlier = (*turn)["content"];
        const auto before = earlier.is_string() ? earlier.get<std::string>() : std::string();
        const auto added = content.get<std::string>();
        earlier = before.empty() || added.empty() ? before + added : before + "\n" + added;
        return;
    }
    messages.push_back({{"role", role}, {"content", std::move(content)}});
}

json chatMessages(const json& request) {
    json messages = json::array();
    if (const auto* instructions = present(request, "instructions"))
        messages.push_back({{"role", "system"}, {"content", *instructions}});
    const auto& input = request["input"];
    if (input.is_string()) {
        messages.push_back({{"role", "user"}, {"content", input}});
        return messages;
    }
    for (const auto& item : input) {
        const auto type = itemType(item);
        if (type == "message") addMessage(item, messages);
        else if (type == "function_call") addFunctionCall(item, messages);
        else if (type == "function_call_output")
            messages.push_back({{"role", "tool"}, {"tool_call_id", item["call_id"]}, {"content", toolOutput(item["output"])}});
        // reasoning items: dropped (see the header).
    }
    return messages;
}

// Function tools in Chat Completions' nesting. Hosted tools are dropped: the
// backend cannot run OpenAI's servers' tools, and a client declared them for
// OpenAI to run, not to receive calls for.
json chatTools(const json& request) {
    json tools = json::array();
    const auto* declared = present(request, "tools");
    if (!declared) return tools;
    for (const auto& tool : *declared) {
        if (tool["type"] != "function") continue;
        json function = {{"name", tool["name"]}};
        for (const char* key : {"description", "parameters", "strict"})
            if (const auto* value = present(tool, key)) function[key] = *value;
        tools.push_back({{"type", "function"}, {"function", std::move(function)}});
    }
    return tools;
}

void copyTextFormat(const json& request, json& chat) {
    const auto* text = present(request, "text");
    const auto* format = text ? present(*text, "format") : nullptr;
    if (!format) return;
    if ((*format)["type"] == "json_object") chat["response_format"] = {{"type", "json_object"}};
    if ((*format)["type"] != "json_schema") return;
    json schema = {{"name", (*format)["name"]}, {"schema", (*format)["schema"]}};
    for (const char* key : {"strict", "description"})
        if (const auto* value = present(*format, key)) schema[key] = *value;
    chat["response_format"] = {{"type", "json_schema"}, {"json_schema", std::move(schema)}};
}

} // namespace

std::optional<std::string> responsesRequestProblem(const json& body, RequestCheck check) {
    if (!body.is_object()) return std::string("the request body must be a JSON object");
    if (!isStringField(body, "model")) return std::string("model is required and must be a string");
    const auto input = body.find("input");
    if (input == body.end() || !(input->is_string() || input->is_array()))
        return std::string("input is required and must be a string or an array of items");
    if (input->is_array())
        for (std::size_t i = 0; i < input->size(); ++i)
            if (auto problem = itemProblem((*input)[i], i, check)) return problem;
    if (auto problem = typeProblem(body)) return problem;
    if (const auto* tools = present(body, "tools"))
        if (auto problem = toolsProblem(*tools)) return problem;
    if (const auto* choice = present(body, "tool_choice"))
        if (auto problem = toolChoiceProblem(*choice, check)) return problem;
    if (const auto* limit = present(body, "max_output_tokens");
        limit && !(limit->is_number_unsigned() && limit->get<std::uint64_t>() > 0))
        return std::string("max_output_tokens must be a positive integer");
    if (const auto* text = present(body, "text"))
        if (auto problem = textProblem(*text)) return problem;
    if (const auto* reasoning = present(body, "reasoning"))
        if (const auto* effort = present(*reasoning, "effort"); effort && !effort->is_string())
            return std::string("reasoning.effort must be a string");
    return std::nullopt;
}

bool continuesPreviousResponse(const json& body) {
    return body.is_object() && !textOf(body.value("previous_response_id", json())).empty();
}

json chatRequestForResponses(const json& request, const std::string& model, bool stream) {
    json chat = {{"model", model}, {"messages", chatMessages(request)}};
    if (auto tools = chatTools(request); !tools.empty()) {
        // A choice among tools that were all dropped would only make the backend refuse.
        if (const auto* choice = present(request, "tool_choice")) {
            chat["tool_choice"] = choice->is_string() ? *choice
                                                      : json{{"type", "function"}, {"function", {{"name", (*choice)["name"]}}}};
        }
        chat["tools"] = std::move(tools);
    }
    if (const auto* limit = present(request, "max_output_tokens")) chat["max_tokens"] = *limit;
    for (const char* key : {"temperature", "top_p", "parallel_tool_calls", "user"})
        if (const auto* value = present(request, key)) chat[key] = *value;
    copyTextFormat(request, chat);
    if (const auto* reasoning = present(request, "reasoning"))
        if (const auto* effort = present(*reasoning, "effort")) chat["reasoning_effort"] = *effort;
    chat["stream"] = stream;
    // Without this the backend sends no token counts in a stream.
    if (stream) chat["stream_options"] = {{"include_usage", true}};
    return chat;
}

} // namespace sluice::kernel
