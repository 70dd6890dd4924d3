// The backend-to-client half of ResponsesOpenAi.h: a chat completion as a
// Response object, and the pieces of one that ResponsesStreamTranslator
// shares. The client-to-backend half is ResponsesOpenAi.cpp.
#include "ResponsesOpenAi.h"

#include <chrono>
#include <random>

#include "ChatEvents.h"

namespace sluice::kernel {

namespace {
using nlohmann::json;
using nlohmann::ordered_json;

ordered_json outputText(const std::string& text) {
    return {{"type", "output_text"}, {"annotations", ordered_json::array()}, {"logprobs", ordered_json::array()}, {"text", text}};
}

ordered_json answerOutput(const json& message, const std::string& itemStatus) {
    ordered_json output = ordered_json::array();
    // Like Ollama's own /v1/responses, the model's reasoning is reported as a reasoning summary.
    if (const auto reasoning = reasoningOf(message); !reasoning.empty())
        output.push_back({{"id", responsesId("rs_")},
                          {"type", "reasoning"},
                          {"summary", {{{"type", "summary_text"}, {"text", reasoning}}}}});
    const auto calls = message.find("tool_calls");
    const bool hasCalls = calls != message.end() && calls->is_array() && !calls->empty();
    const auto text = textOf(message.value("content", json()));
    const auto refusal = textOf(message.value("refusal", json()));
    // An answer with nothing else still has its (empty) message, as OpenAI's does.
    if (!text.empty() || !refusal.empty() || (output.empty() && !hasCalls)) {
        ordered_json content = ordered_json::array();
        if (!text.empty() || refusal.empty()) content.push_back(outputText(text));
        if (!refusal.empty()) content.push_back({{"type", "refusal"}, {"refusal", refusal}});
        output.push_back({{"id", responsesId("msg_")},
                          {"type", "message"},
                          {"status", itemStatus},
                          {"content", std::move(content)},
                          {"role", "assistant"}});
    }
    if (!hasCalls) return output;
    for (const auto& call : *calls) {
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) continue;
        const auto& function = call["function"];
        const auto arguments = function.value("arguments", json(""));
        output.push_back({{"id", responsesId("fc_")},
                          {"type", "function_call"},
                          {"status", itemStatus},
                          {"arguments", arguments.is_string() ? arguments.get<std::string>()
                                        : arguments.is_null()  ? std::string()
                                                               : jsonText(arguments)},
                          {"call_id", textOf(call.value("id", json()))},
                          {"name", textOf(function.value("name", json()))}});
    }
    return output;
}

std::uint64_t count(const json& object, const char* name) {
    const auto it = object.find(name);
    return it != object.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

// A request setting as the Response echoes it: the client's value, or OpenAI's default.
// (A setting sent as null is not sent.)
ordered_json echoed(const json& request, const char* key, ordered_json fallback) {
    const auto it = request.find(key);
    return it == request.end() || it->is_null() ? fallback : ordered_json(*it);
}
} // namespace

std::optional<std::string> responsesAnswerFor(const json& completion, const json& request, const std::string& model) {
    if (!completion.is_object()) return std::nullopt;
    const auto choices = completion.find("choices");
    if (choices == completion.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) return std::nullopt;
    const auto& choice = (*choices)[0];
    const auto message = choice.find("message");
    if (message == choice.end() || !message->is_object()) return std::nullopt;

    const auto created = completion.value("created", json());
    const auto incomplete = incompleteReason(textOf(choice.value("finish_reason", json())));
    auto response = responseObject(request, model, responsesId("resp_"),
                                   created.is_number_integer() ? created.get<std::int64_t>() : unixNow(),
                                   incomplete ? "incomplete" : "completed");
    response["completed_at"] = unixNow();
    if (incomplete) response["incomplete_details"] = {{"reason", *incomplete}};
    response["output"] = answerOutput(*message, incomplete ? "incomplete" : "completed");
    response["usage"] = responsesUsage(completion.value("usage", json()));
    return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string responsesId(std::string_view prefix) {
    thread_local std::mt19937_64 random{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(prefix);
    for (int word = 0; word < 3; ++word) {
        auto bits = random();
        for (int digit = 0; digit < 16; ++digit, bits >>= 4) id += kHex[bits & 15];
    }
    return id;
}

ordered_json responseObject(const json& request, const std::string& model, const std::string& id, std::int64_t createdAt,
                            std::string_view status) {
    // The function tools: what the backend was offered (hosted tools were dropped).
    ordered_json tools = ordered_json::array();
    if (const auto declared = echoed(request, "tools", nullptr); declared.is_array())
        for (const auto& tool : declared)
            if (tool.is_object() && tool.value("type", ordered_json()) == "function") tools.push_back(tool);
    const auto text = request.is_object() ? request.value("text", json()) : json();
    const auto reasoning = request.is_object() ? request.value("reasoning", json()) : json();
    return {{"id", id},
            {"object", "response"},
            {"created_at", createdAt},
            {"status", status},
            {"background", false},
            {"completed_at", nullptr},
            {"error", nullptr},
            {"incomplete_details", nullptr},
            {"instructions", echoed(request, "instructions", nullptr)},
            {"max_output_tokens", echoed(request, "max_output_tokens", nullptr)},
            {"max_tool_calls", nullptr},
            {"model", model},
            {"output", ordered_json::array()},
            {"parallel_tool_calls", echoed(request, "parallel_tool_calls", true)},
            {"previous_response_id", nullptr},
            {"reasoning", {{"effort", echoed(reasoning, "effort", nullptr)}, {"summary", echoed(reasoning, "summary", nullptr)}}},
            {"service_tier", "default"},
            {"store", false},  // nothing is kept: a later previous_response_id could not find it
            {"temperature", echoed(request, "temperature", 1.0)},
            {"text", {{"format", echoed(text, "format", {{"type", "text"}})}}},
            {"tool_choice", echoed(request, "tool_choice", "auto")},
            {"tools", std::move(tools)},
            {"top_logprobs", 0},
            {"top_p", echoed(request, "top_p", 1.0)},
            {"truncation", echoed(request, "truncation", "disabled")},
            {"usage", nullptr},
            {"user", echoed(request, "user", nullptr)},
            {"metadata", echoed(request, "metadata", ordered_json::object())}};
}

ordered_json responsesUsage(const json& chatUsage) {
    if (!chatUsage.is_object()) return nullptr;
    const auto input = count(chatUsage, "prompt_tokens");
    const auto output = count(chatUsage, "completion_tokens");
    const auto details = [&](const char* key, const char* name) {
        const auto it = chatUsage.find(key);
        return it != chatUsage.end() && it->is_object() ? count(*it, name) : std::uint64_t{0};
    };
    return {{"input_tokens", input},
            {"input_tokens_details", {{"cached_tokens", details("prompt_tokens_details", "cached_tokens")}}},
            {"output_tokens", output},
            {"output_tokens_details", {{"reasoning_tokens", details("completion_tokens_details", "reasoning_tokens")}}},
            {"total_tokens", input + output}};
}

std::optional<std::string> incompleteReason(std::string_view finishReason) {
    if (finishReason == "length") return "max_output_tokens";
    if (finishReason == "content_filter") return "content_filter";
    return std::nullopt;
}

} // namespace sluice::kernel
