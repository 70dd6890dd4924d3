#include "OllamaOpenAi.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <deque>
#include <vector>

#include "ChatEvents.h"
#include "sluice/Json.h"

namespace sluice::kernel {

namespace {
using nlohmann::json;
using nlohmann::ordered_json;

// OpenAI accepts at most four stop sequences.
constexpr std::size_t kMaxStops = 4;

// Ollama sends images as bare base64; OpenAI wants a data URL with a type,
// read here from the first bytes' base64 spelling.
std::string imageUrl(const std::string& image) {
    if (image.starts_with("data:") || image.starts_with("http://") || image.starts_with("https://")) return image;
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kSignatures{{
        {"iVBORw0KGgo", "image/png"}, {"/9j/", "image/jpeg"}, {"R0lGOD", "image/gif"}, {"UklGR", "image/webp"}}};
    std::string_view type = "image/jpeg";
    for (const auto& [prefix, mime] : kSignatures)
        if (image.starts_with(prefix)) type = mime;
    return "data:" + std::string(type) + ";base64," + image;
}

// A message's content: the text alone, or text and image parts when it has images.
json openAiContent(const std::string& text, const json& images) {
    if (!images.is_array() || images.empty()) return text;
    json parts = json::array();
    if (!text.empty()) parts.push_back({{"type", "text"}, {"text", text}});
    for (const auto& image : images)
        if (image.is_string()) parts.push_back({{"type", "image_url"}, {"image_url", {{"url", imageUrl(image.get<std::string>())}}}});
    return parts;
}

// OpenAI pairs each tool result with the id of the call it answers; Ollama
// pairs them by order (and, in newer clients, by tool_name). The calls of the
// last assistant message wait here until their results come.
struct PendingCall {
    std::string id;
    std::string name;
};

json openAiToolCalls(const json& calls, std::size_t messageIndex, std::deque<PendingCall>& pending) {
    json out = json::array();
    pending.clear();
    for (std::size_t i = 0; i < calls.size(); ++i) {
        const auto& call = calls[i];
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) continue;
        const auto& function = call["function"];
        std::string id = textOf(call.value("id", json()));
        if (id.empty()) id = "call_" + std::to_string(messageIndex) + "_" + std::to_string(i);
        const std::string name = textOf(function.value("name", json()));
        const auto& arguments = function.contains("arguments") ? function["arguments"] : json::object();
        out.push_back({{"id", id},
                       {"type", "function"},
                       {"function", {{"name", name}, {"arguments", arguments.is_string() ? arguments.get<std::string>() : jsonText(arguments)}}}});
        pending.push_back({id, name});
    }
    return out;
}

std::string answeredCallId(const json& message, std::deque<PendingCall>& pending) {
    if (auto id = textOf(message.value("tool_call_id", json())); !id.empty()) {
        std::erase_if(pending, [&](const PendingCall& call) { return call.id == id; });
        return id;
    }
    auto name = textOf(message.value("tool_name", json()));
    if (name.empty()) name = textOf(message.value("name", json()));
    auto match = std::find_if(pending.begin(), pending.end(), [&](const PendingCall& call) { return call.name == name; });
    if (match == pending.end()) match = pending.begin();
    if (match == pending.end()) return {};
    auto id = match->id;
    pending.erase(match);
    return id;
}

json openAiMessages(const json& messages) {
    json out = json::array();
    if (!messages.is_array()) return out;
    std::deque<PendingCall> pending;
    for (std::size_t index = 0; index < messages.size(); ++index) {
        const auto& message = messages[index];
        if (!message.is_object()) continue;
        const auto role = textOf(message.value("role", json()));
        json translated = {{"role", role}, {"content", openAiContent(textOf(message.value("content", json())), message.value("images", json()))}};
        if (const auto calls = message.find("tool_calls"); calls != message.end() && calls->is_array() && !calls->empty()) {
            translated["tool_calls"] = openAiToolCalls(*calls, index, pending);
            if (translated["content"] == "") translated["content"] = nullptr;
        } else if (role == "tool") {
            if (auto id = answeredCallId(message, pending); !id.empty()) translated["tool_call_id"] = id;
        }
        out.push_back(std::move(translated));
    }
    return out;
}

// Ollama's options that OpenAI has too; the rest (top_k, num_ctx, repeat_penalty, …) have no equivalent.
void copyOptions(const json& options, json& request) {
    if (!options.is_object()) return;
    for (const char* name : {"temperature", "top_p", "frequency_penalty", "presence_penalty"})
        if (auto it = options.find(name); it != options.end() && it->is_number()) request[name] = *it;
    if (auto it = options.find("seed"); it != options.end() && it->is_number_integer()) request["seed"] = *it;
    // num_predict -1 (unbounded) and -2 (fill the context) have no OpenAI spelling: no limit is sent.
    if (auto it = options.find("num_predict"); it != options.end() && it->is_number_integer() && it->get<long long>() > 0)
        request["max_tokens"] = *it;
    if (auto it = options.find("stop"); it != options.end()) {
        json stops = json::array();
        if (it->is_string()) stops.push_back(*it);
        if (it->is_array())
            for (const auto& stop : *it)
                if (stop.is_string() && stops.size() < kMaxStops) stops.push_back(stop);
        if (!stops.empty()) request["stop"] = stops;
    }
}

// A schema's name must match ^[a-zA-Z0-9_-]{1,64}$: the schema's title when it does.
std::string schemaName(const json& schema) {
    const auto title = textOf(schema.value("title", json()));
    const bool usable = !title.empty() && title.size() <= 64 &&
                        std::all_of(title.begin(), title.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
    return usable ? title : "response";
}

void copyFormat(const json& format, json& request) {
    if (format == "json") request["response_format"] = {{"type", "json_object"}};
    else if (format.is_object())
        request["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"name", schemaName(format)}, {"schema", format}}}};
}

json chatRequest(OllamaCall call, const json& ollama) {
    json request = json::object();
    if (call == OllamaCall::Chat) {
        request["messages"] = openAiMessages(ollama.value("messages", json()));
    } else {
        json messages = json::array();
        if (auto system = textOf(ollama.value("system", json())); !system.empty())
            messages.push_back({{"role", "system"}, {"content", system}});
        messages.push_back({{"role", "user"}, {"content", openAiContent(textOf(ollama.value("prompt", json())), ollama.value("images", json()))}});
        request["messages"] = std::move(messages);
    }
    copyOptions(ollama.value("options", json()), request);
    copyFormat(ollama.value("format", json()), request);
    if (auto tools = ollama.find("tools"); call == OllamaCall::Chat && tools != ollama.end() && tools->is_array() && !tools->empty())
        request["tools"] = *tools;
    return request;
}

long long nanoseconds(std::chrono::nanoseconds duration) { return static_cast<long long>(duration.count()); }

std::uint64_t count(const json& usage, const char* name) {
    auto it = usage.find(name);
    return it != usage.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::optional<std::string> chatAnswer(OllamaCall call, const json& openAi, const std::string& model,
                                      std::chrono::nanoseconds totalDuration) {
    const auto choices = openAi.find("choices");
    if (choices == openAi.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) return std::nullopt;
    const auto& choice = (*choices)[0];
    const auto message = choice.find("message");
    if (message == choice.end() || !message->is_object()) return std::nullopt;
    const auto content = textOf(message->value("content", json()));

    ordered_json answer = {{"model", model}, {"created_at", ollamaTimestamp(std::chrono::system_clock::now())}};
    if (call == OllamaCall::Chat) {
        ordered_json reply = {{"role", "assistant"}, {"content", content}};
        if (auto calls = message->find("tool_calls"); calls != message->end() && calls->is_array() && !calls->empty()) {
            ordered_json translated = ordered_json::array();
            for (const auto& one : *calls) {
                if (!one.is_object() || !one.contains("function") || !one["function"].is_object()) continue;
                const auto& function = one["function"];
                const auto& arguments = function.value("arguments", json());
                translated.push_back(ollamaToolCall(textOf(one.value("id", json())), textOf(function.value("name", json())),
                                                    arguments.is_string() ? arguments.get<std::string>() : jsonText(arguments)));
            }
            reply["tool_calls"] = std::move(translated);
        }
        answer["message"] = std::move(reply);
    } else {
        answer["response"] = content;
    }
    answer["done"] = true;
    answer["done_reason"] = ollamaDoneReason(choice.value("finish_reason", json()));
    answer["total_duration"] = nanoseconds(totalDuration);
    if (auto usage = openAi.find("usage"); usage != openAi.end() && usage->is_object()) {
        answer["prompt_eval_count"] = count(*usage, "prompt_tokens");
        answer["eval_count"] = count(*usage, "completion_tokens");
    }
    return answer.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> embeddingAnswer(OllamaCall call, const json& openAi, const std::string& model,
                                           std::chrono::nanoseconds totalDuration) {
    const auto data = openAi.find("data");
    if (data == openAi.end() || !data->is_array()) return std::nullopt;
    // The provider numbers its vectors; they go back in that order.
    std::vector<std::pair<std::size_t, const json*>> vectors;
    for (std::size_t i = 0; i < data->size(); ++i) {
        const auto& item = (*data)[i];
        if (!item.is_object() || !item.contains("embedding") || !item["embedding"].is_array()) return std::nullopt;
        const auto index = item.value("index", json(i));
        vectors.emplace_back(index.is_number_unsigned() ? index.get<std::size_t>() : i, &item["embedding"]);
    }
    std::stable_sort(vectors.begin(), vectors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

    if (call == OllamaCall::Embeddings) {
        if (vectors.empty()) return std::nullopt;
        return jsonText(ordered_json{{"embedding", ordered_json(*vectors.front().second)}});
    }
    ordered_json embeddings = ordered_json::array();
    for (const auto& [index, vector] : vectors) embeddings.push_back(ordered_json(*vector));
    // Every field Ollama's answer has: clients validate them
    // (ollama-ai-provider-v2 rejects an answer without load_duration). A
    // provider loads nothing the gateway can see, so the load took 0 ns; a
    // provider that reports no usage counted 0 tokens as far as we know.
    ordered_json answer = {{"model", model},
                           {"embeddings", std::move(embeddings)},
                           {"total_duration", nanoseconds(totalDuration)},
                           {"load_duration", 0},
                           {"prompt_eval_count", 0}};
    if (auto usage = openAi.find("usage"); usage != openAi.end() && usage->is_object())
        answer["prompt_eval_count"] = count(*usage, "prompt_tokens");
    return answer.dump(-1, ' ', false, json::error_handler_t::replace);
}
} // namespace

std::optional<OllamaCall> translatableCall(RouteKind kind) {
    switch (kind) {
    case RouteKind::OllamaChat: return OllamaCall::Chat;
    case RouteKind::OllamaGenerate: return OllamaCall::Generate;
    case RouteKind::OllamaEmbed: return OllamaCall::Embed;
    case RouteKind::OllamaEmbeddings: return OllamaCall::Embeddings;
    default: return std::nullopt;
    }
}

std::string_view openAiPath(OllamaCall call) {
    return call == OllamaCall::Chat || call == OllamaCall::Generate ? "/chat/completions" : "/embeddings";
}

json toOpenAiRequest(OllamaCall call, const json& ollama, const std::string& model, bool stream) {
    if (call == OllamaCall::Embed || call == OllamaCall::Embeddings) {
        json request = {{"model", model}, {"encoding_format", "float"}};
        const auto& input = ollama.value(call == OllamaCall::Embed ? "input" : "prompt", json(""));
        request["input"] = input.is_string() || input.is_array() ? input : json("");
        if (auto dimensions = ollama.find("dimensions"); dimensions != ollama.end() && dimensions->is_number_integer())
            request["dimensions"] = *dimensions;
        return request;
    }
    auto request = chatRequest(call, ollama);
    request["model"] = model;
    request["stream"] = stream;
    // Without this the provider sends no token counts in a stream.
    if (stream) request["stream_options"] = {{"include_usage", true}};
    return request;
}

std::optional<std::string> toOllamaAnswer(OllamaCall call, const json& openAi, const std::string& model,
                                          std::chrono::nanoseconds totalDuration) {
    if (!openAi.is_object()) return std::nullopt;
    if (call == OllamaCall::Chat || call == OllamaCall::Generate) return chatAnswer(call, openAi, model, totalDuration);
    return embeddingAnswer(call, openAi, model, totalDuration);
}

std::string ollamaTimestamp(std::chrono::system_clock::time_point when) {
    const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(when);
    const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(when - seconds).count();
    const std::time_t time = std::chrono::system_clock::to_time_t(seconds);
    std::tm utc{};
    gmtime_r(&time, &utc);
    char text[48];
    const auto length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    char fraction[16];
    std::snprintf(fraction, sizeof fraction, ".%09lldZ", static_cast<long long>(nanos));
    return std::string(text, length) + fraction;
}

std::string ollamaDoneReason(const json& finishReason) {
    return finishReason == "length" ? "length" : "stop";
}

ordered_json ollamaToolCall(const std::string& id, const std::string& name, const std::string& arguments) {
    // Arguments nested past the bound stay a string, as unparsable ones do.
    auto parsed = jsonDepth(arguments) > kMaxJsonDepth ? ordered_json(ordered_json::value_t::discarded)
                                                       : ordered_json::parse(arguments, nullptr, false);
    if (arguments.find_first_not_of(" \t\r\n") == std::string::npos) parsed = ordered_json::object();
    ordered_json call = ordered_json::object();
    if (!id.empty()) call["id"] = id;
    call["function"] = {{"name", name}, {"arguments", parsed.is_object() ? parsed : ordered_json(arguments)}};
    return call;
}

nlohmann::json ollamaShowFor(const std::string& model) {
    return {{"modelfile", "# served by an OpenAI-compatible backend through Sluice\nFROM " + model + "\n"},
            {"parameters", ""},
            {"template", ""},
            {"details", {{"parent_model", ""}, {"format", ""}, {"family", ""}, {"families", nlohmann::json::array()},
                         {"parameter_size", ""}, {"quantization_level", ""}}},
            {"model_info", nlohmann::json::object()},
            {"capabilities", {"completion"}},
            {"modified_at", ollamaTimestamp(std::chrono::system_clock::now())}};
}

} // namespace sluice::kernel
