#pragma once
// What every translation shares: lenient reads of JSON from a backend or a
// client (a wrong type reads as absent, never throws), and the reading of
// one event of an OpenAI chat-completion stream, which every stream
// translator (to Ollama's NDJSON, Anthropic's events, the Responses API's
// events) starts from.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sluice::kernel {

// How deep a request check goes. Every request on an agents' door is
// checked at the front for what the gateway itself reads (the model, the
// length bound, stream) and the JSON types of the fields it knows
// (Envelope): a backend that serves the API natively takes what the
// translation cannot (Anthropic's server-tool blocks, documents, Codex's
// custom tool calls). A request about to be translated is also checked for
// every block, item and tool choice the translation takes (Translation).
enum class RequestCheck { Envelope, Translation };

// JSON text with invalid UTF-8 replaced (U+FFFD) rather than thrown at:
// whatever a client, a backend or a plugin put in a string is sent on.
template <class Json>
std::string jsonText(const Json& value) {
    return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The string, or "" for anything else.
std::string textOf(const nlohmann::json& value);
// object[name], or null when `object` is not an object or has no such member.
const nlohmann::json& field(const nlohmann::json& object, const char* name);
// The value when it is an array, else an empty one: for loops over optional lists.
const nlohmann::json& listOf(const nlohmann::json& value);

// The reasoning a chat message or delta carries: vLLM, DeepSeek and
// llama.cpp name it reasoning_content, Ollama and OpenRouter reasoning. ""
// when there is none.
std::string reasoningOf(const nlohmann::json& messageOrDelta);

// Seconds since the epoch, for the created_at of answers a translation makes.
std::int64_t unixNow();

// One SSE event of a chat-completion stream, read.
struct ChatEvent {
    enum class Kind {
        Nothing,  // a comment, a blank event: no data
        End,      // data: [DONE]
        Chunk,    // a chunk object, in `chunk`
        Error,    // an error event, or data that is not a JSON object; `error` says why
    };
    Kind kind = Kind::Nothing;
    nlohmann::json chunk;
    std::string error;  // the provider's message, not yet made safe for the client
};

ChatEvent readChatEvent(std::string_view frame);

} // namespace sluice::kernel
