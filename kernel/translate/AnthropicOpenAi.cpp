#include "AnthropicOpenAi.h"

#include <random>
#include <string_view>

#include "ChatEvents.h"
#include "dialect/Usage.h"
#include "sluice/Json.h"

namespace sluice::kernel {

namespace {
using nlohmann::json;
using nlohmann::ordered_json;

// OpenAI accepts at most four stop sequences; Anthropic more.
constexpr std::size_t kMaxStops = 4;

// Text blocks joined by newlines: a system prompt, a tool result, a message's text.
std::string joinedText(const json& blocks) {
    std::string text;
    bool first = true;
    for (const auto& block : blocks) {
        if (field(block, "type") != "text") continue;
        text += (first ? "" : "\n") + textOf(field(block, "text"));
        first = false;
    }
    return text;
}

json imagePart(const json& block) {
    const auto& source = field(block, "source");
    const auto url = field(source, "type") == "url"
                         ? textOf(field(source, "url"))
                         : "data:" + textOf(field(source, "media_type")) + ";base64," + textOf(field(source, "data"));
    return {{"type", "image_url"}, {"image_url", {{"url", url}}}};
}

// Text parts alone are sent as one string, which every provider takes.
json contentOf(const json& parts) {
    for (const auto& part : parts)
        if (part["type"] != "text") return parts;
    return joinedText(parts);
}

// OpenAI's tool messages carry text only, so the results' images follow in
// the user message after them.
json toolMessage(const json& result, json& userParts) {
    const auto& content = field(result, "content");
    std::string text = content.is_array() ? joinedText(content) : textOf(content);
    for (const auto& part : listOf(content))
        if (field(part, "type") == "image") userParts.push_back(imagePart(part));
    if (field(result, "is_error") == true) text = "Error: " + text;
    return {{"role", "tool"}, {"tool_call_id", textOf(field(result, "tool_use_id"))}, {"content", text}};
}

// A user message's tool results become tool messages, sent before the rest of
// its content (OpenAI wants them right after the assistant's calls).
void appendUserMessage(const json& content, json& out) {
    json parts = json::array();
    for (const auto& block : content) {
        const auto& type = field(block, "type");
        if (type == "tool_result") out.push_back(toolMessage(block, parts));
        else if (type == "text") parts.push_back({{"type", "text"}, {"text", textOf(field(block, "text"))}});
        else if (type == "image") parts.push_back(imagePart(block));
    }
    if (!parts.empty()) out.push_back({{"role", "user"}, {"content", contentOf(parts)}});
}

// OpenAI's assistant messages carry text and tool calls only: images are dropped.
void appendAssistantMessage(const json& content, json& out) {
    json parts = json::array();
    json calls = json::array();
    for (const auto& block : content) {
        const auto& type = field(block, "type");
        if (type == "text") parts.push_back(block);
        else if (type == "tool_use")
            calls.push_back({{"id", textOf(field(block, "id"))},
                             {"type", "function"},
                             {"function", {{"name", textOf(field(block, "name"))},
                                           {"arguments", field(block, "input").dump(-1, ' ', false, json::error_handler_t::replace)}}}});
    }
    if (parts.empty() && calls.empty()) return;
    json message = {{"role", "assistant"}, {"content", parts.empty() ? json() : json(joinedText(parts))}};
    if (!calls.empty()) message["tool_calls"] = std::move(calls);
    out.push_back(std::move(message));
}

json chatMessages(const json& request) {
    json out = json::array();
    const auto& system = field(request, "system");
    if (const auto prompt = system.is_array() ? joinedText(system) : textOf(system); !prompt.empty())
        out.push_back({{"role", "system"}, {"content", prompt}});
    for (const auto& message : listOf(field(request, "messages"))) {
        const auto& content = field(message, "content");
        const bool assistant = field(message, "role") == "assistant";
        // Thinking blocks are dropped: their signatures are Anthropic's, and no provider reads them back.
        if (content.is_string()) out.push_back({{"role", assistant ? "assistant" : "user"}, {"content", content}});
        else if (assistant) appendAssistantMessage(listOf(content), out);
        else appendUserMessage(listOf(content), out);
    }
    return out;
}

// Server tools are dropped: Anthropic runs them itself, and a provider that
// was handed one would ask the client to run a tool the client never defined.
void copyTools(const json& request, json& chat) {
    json tools = json::array();
    for (const auto& tool : listOf(field(request, "tools"))) {
        if (isAnthropicServerTool(tool)) continue;
        json function = {{"name", textOf(field(tool, "name"))}, {"parameters", field(tool, "input_schema")}};
        if (const auto& description = field(tool, "description"); description.is_string()) function["description"] = description;
        tools.push_back({{"type", "function"}, {"function", std::move(function)}});
    }
    // Without tools OpenAI refuses tool_choice and parallel_tool_calls.
    if (tools.empty()) return;
    chat["tools"] = std::move(tools);
    const auto& choice = field(request, "tool_choice");
    const auto& type = field(choice, "type");
    if (type == "auto") chat["tool_choice"] = "auto";
    else if (type == "any") chat["tool_choice"] = "required";
    else if (type == "none") chat["tool_choice"] = "none";
    else if (type == "tool") chat["tool_choice"] = {{"type", "function"}, {"function", {{"name", textOf(field(choice, "name"))}}}};
    if (field(choice, "disable_parallel_tool_use") == true) chat["parallel_tool_calls"] = false;
}

std::string randomId(std::string_view prefix) {
    thread_local std::mt19937_64 random{std::random_device{}()};
    static constexpr std::string_view kHex = "0123456789abcdef";
    std::string id(prefix);
    for (int i = 0; i < 24; ++i) id += kHex[random() % kHex.size()];
    return id;
}

// A call's arguments as an object; {} when they are empty or not one (the client expects an object).
ordered_json toolInput(const json& arguments) {
    if (arguments.is_object()) return ordered_json(arguments);
    const auto parsed = parseJson(textOf(arguments));
    return parsed.is_object() ? ordered_json(parsed) : ordered_json::object();
}
} // namespace

json chatRequestForMessages(const json& request, const std::string& model, bool stream) {
    json chat = {{"model", model}, {"messages", chatMessages(request)}};
    if (const auto& maxTokens = field(request, "max_tokens"); maxTokens.is_number_integer()) chat["max_tokens"] = maxTokens;
    if (const auto& stops = field(request, "stop_sequences"); stops.is_array() && !stops.empty()) {
        json kept = json::array();
        for (const auto& stop : stops)
            if (stop.is_string() && kept.size() < kMaxStops) kept.push_back(stop);
        chat["stop"] = std::move(kept);
    }
    for (const char* name : {"temperature", "top_p"})
        if (const auto& value = field(request, name); value.is_number()) chat[name] = value;
    // top_k has no Chat Completions field; thinking is the provider's own business (see the header).
    if (const auto user = textOf(field(field(request, "metadata"), "user_id")); !user.empty()) chat["user"] = user;
    copyTools(request, chat);
    chat["stream"] = stream;
    // Without this the provider sends no token counts in a stream.
    if (stream) chat["stream_options"] = {{"include_usage", true}};
    return chat;
}

std::optional<std::string> messagesAnswerFor(const json& completion, const std::string& model) {
    const auto& choices = field(completion, "choices");
    if (!choices.is_array() || choices.empty() || !choices[0].is_object()) return std::nullopt;
    const auto& choice = choices[0];
    const auto& message = field(choice, "message");
    if (!message.is_object()) return std::nullopt;

    ordered_json content = ordered_json::array();
    if (const auto reasoning = reasoningOf(message); !reasoning.empty())
        content.push_back({{"type", "thinking"}, {"thinking", reasoning}, {"signature", ""}});
    if (const auto text = textOf(field(message, "content")); !text.empty()) content.push_back({{"type", "text"}, {"text", text}});
    bool madeToolCalls = false;
    for (const auto& call : listOf(field(message, "tool_calls"))) {
        const auto& function = field(call, "function");
        if (!function.is_object()) continue;
        content.push_back({{"type", "tool_use"},
                           {"id", anthropicToolUseId(field(call, "id"))},
                           {"name", textOf(field(function, "name"))},
                           {"input", toolInput(field(function, "arguments"))}});
        madeToolCalls = true;
    }
    Usage usage;
    readUsage(completion, usage);
    const ordered_json answer = {{"id", anthropicMessageId(field(completion, "id"))},
                                 {"type", "message"},
                                 {"role", "assistant"},
                                 {"model", model},
                                 {"content", std::move(content)},
                                 {"stop_reason", anthropicStopReason(field(choice, "finish_reason"), madeToolCalls)},
                                 {"stop_sequence", nullptr},
                                 {"usage", {{"input_tokens", usage.promptTokens}, {"output_tokens", usage.completionTokens}}}};
    return answer.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string anthropicStopReason(const json& finishReason, bool madeToolCalls) {
    if (finishReason == "length") return "max_tokens";
    if (madeToolCalls || finishReason == "tool_calls" || finishReason == "function_call") return "tool_use";
    if (finishReason == "content_filter") return "refusal";
    return "end_turn";
}

std::string anthropicMessageId(const json& completionId) {
    const auto id = textOf(completionId);
    return id.empty() ? randomId("msg_") : "msg_" + id;
}

std::string anthropicToolUseId(const json& callId) {
    auto id = textOf(callId);
    return id.empty() ? randomId("toolu_") : id;
}

} // namespace sluice::kernel
