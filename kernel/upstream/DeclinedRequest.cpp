#include "DeclinedRequest.h"

#include <array>
#include <string_view>

#include <Poco/String.h>

#include "sluice/Json.h"

namespace sluice::kernel {

namespace {
// Codes and types, as providers spell them.
constexpr std::array kContextCodes{std::string_view("context_length_exceeded"), std::string_view("context_window_exceeded")};
constexpr std::array kFilterCodes{std::string_view("content_policy_violation"), std::string_view("content_filter")};
// Phrases from providers that set no code: Ollama ("exceeds the context
// length"), vLLM ("maximum context length is"), Anthropic ("prompt is too
// long"), llama.cpp ("exceeds the available context size").
constexpr std::array kContextPhrases{std::string_view("context length"), std::string_view("context window"),
                                     std::string_view("context size"), std::string_view("prompt is too long"),
                                     std::string_view("maximum context")};
constexpr std::array kFilterPhrases{std::string_view("content policy"), std::string_view("content management policy"),
                                    std::string_view("content filter")};

template <std::size_t N>
bool anyOf(const std::string& text, const std::array<std::string_view, N>& needles) {
    for (const auto needle : needles)
        if (text.find(needle) != std::string::npos) return true;
    return false;
}

std::string lowerString(const nlohmann::json& json, const char* key) {
    const auto it = json.find(key);
    return it != json.end() && it->is_string() ? Poco::toLower(it->get<std::string>()) : std::string();
}
} // namespace

std::optional<FallbackOn> declinedClassOf(int status, const std::string& body) {
    if (status < 400 || status >= 500) return std::nullopt;
    const auto json = parseJson(body);
    std::string code, type, message;
    if (json.is_object()) {
        const auto error = json.find("error");
        if (error != json.end() && error->is_object()) {
            code = lowerString(*error, "code");
            type = lowerString(*error, "type");
            message = lowerString(*error, "message");
        } else if (error != json.end() && error->is_string()) {
            message = Poco::toLower(error->get<std::string>());
        }
    }
    if (message.empty() && code.empty() && type.empty()) message = Poco::toLower(body.substr(0, 1000));
    if (anyOf(code, kContextCodes) || anyOf(type, kContextCodes) || anyOf(message, kContextPhrases))
        return FallbackOn::ContextLength;
    if (anyOf(code, kFilterCodes) || anyOf(type, kFilterCodes) || anyOf(message, kFilterPhrases))
        return FallbackOn::ContentFilter;
    return std::nullopt;
}

} // namespace sluice::kernel
