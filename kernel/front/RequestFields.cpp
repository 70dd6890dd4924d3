#include "RequestFields.h"

#include "../translate/AnthropicOpenAi.h"
#include "../translate/ResponsesOpenAi.h"

#include <array>
#include <cmath>
#include <string_view>

namespace sluice::kernel {

namespace {
using Type = nlohmann::json::value_t;

// Acceptable types, as bits of one mask.
enum Kind : unsigned { String = 1, Boolean = 2, Integer = 4, Number = 8, Object = 16, Array = 32 };

unsigned kindOf(const nlohmann::json& value) {
    switch (value.type()) {
    case Type::string: return String;
    case Type::boolean: return Boolean;
    case Type::number_integer:
    case Type::number_unsigned: return Integer | Number;
    case Type::number_float: {
        // 100.0 is an integer to JavaScript clients, which cannot tell them apart.
        const double number = value.get<double>();
        const bool whole = std::isfinite(number) && std::trunc(number) == number;
        return whole ? (Integer | Number) : Number;
    }
    case Type::object: return Object;
    case Type::array: return Array;
    default: return 0;
    }
}

std::string describe(unsigned allowed) {
    static constexpr std::array<std::pair<unsigned, std::string_view>, 6> kNames{{
        {String, "a string"}, {Boolean, "a boolean"}, {Integer, "an integer"}, {Number, "a number"},
        {Object, "an object"}, {Array, "an array"}}};
    std::string text;
    for (const auto& [bit, name] : kNames) {
        if (!(allowed & bit) || (bit == Integer && (allowed & Number))) continue;
        if (!text.empty()) text += " or ";
        text += name;
    }
    return text;
}

struct Field {
    std::string_view name;
    unsigned allowed;
};

// Both protocols' request fields that the gateway reads or that decide what
// a backend does; an unknown field is the backend's business.
constexpr std::array kTopLevel{
    Field{"model", String},
    Field{"stream", Boolean},
    Field{"messages", Array},
    Field{"prompt", String | Array},  // OpenAI's legacy completions take token arrays
    Field{"suffix", String},
    Field{"system", String},
    Field{"input", String | Array},
    Field{"options", Object},
    Field{"stream_options", Object},
    Field{"tools", Array},
    Field{"max_tokens", Integer},
    Field{"max_completion_tokens", Integer},
    Field{"n", Integer},
    Field{"seed", Integer},
    Field{"temperature", Number},
    Field{"top_p", Number},
    Field{"presence_penalty", Number},
    Field{"frequency_penalty", Number},
    Field{"stop", String | Array},
    Field{"keep_alive", String | Number},
    Field{"format", String | Object},
    Field{"think", Boolean | String},
    Field{"raw", Boolean},
    Field{"images", Array},
    Field{"truncate", Boolean},
    Field{"dimensions", Integer},
};

// Ollama's options that the gateway reads or shapes.
constexpr std::array kOllamaOptions{
    Field{"num_predict", Integer},
    Field{"num_ctx", Integer},
    Field{"temperature", Number},
    Field{"top_p", Number},
    Field{"top_k", Integer},
    Field{"seed", Integer},
    Field{"stop", Array},
};

template <std::size_t N>
std::optional<std::string> check(const nlohmann::json& object, const std::array<Field, N>& fields, std::string_view prefix) {
    for (const auto& field : fields) {
        const auto it = object.find(field.name);
        if (it == object.end() || it->is_null() || (kindOf(*it) & field.allowed)) continue;
        return std::string(prefix) + std::string(field.name) + " must be " + describe(field.allowed);
    }
    return std::nullopt;
}
} // namespace

std::optional<std::string> wrongFieldType(const nlohmann::json& body, const Route& route) {
    if (auto wrong = check(body, kTopLevel, "")) return wrong;
    if (route.kind == RouteKind::OllamaChat || route.kind == RouteKind::OpenAIChat) {
        // Each message is an object: the translators and the audit read its fields.
        const auto messages = body.find("messages");
        if (messages != body.end() && messages->is_array())
            for (const auto& message : *messages)
                if (!message.is_object()) return std::string("messages must be an array of objects");
    }
    const auto options = body.find("options");
    if (options != body.end() && options->is_object()) return check(*options, kOllamaOptions, "options.");
    return std::nullopt;
}

std::optional<std::string> requestProblem(const nlohmann::json& body, const Route& route) {
    switch (route.protocol) {
    case Protocol::Anthropic: return messagesRequestProblem(body, RequestCheck::Envelope);
    case Protocol::OpenAIResponses: return responsesRequestProblem(body, RequestCheck::Envelope);
    default: return wrongFieldType(body, route);
    }
}

} // namespace sluice::kernel
