#include "ChatEvents.h"

#include <chrono>

#include "http/FrameSplitter.h"
#include "sluice/Json.h"

namespace sluice::kernel {

using nlohmann::json;

std::string textOf(const json& value) { return value.is_string() ? value.get<std::string>() : std::string(); }

const json& field(const json& object, const char* name) {
    static const json kAbsent;
    if (!object.is_object()) return kAbsent;
    const auto it = object.find(name);
    return it == object.end() ? kAbsent : *it;
}

const json& listOf(const json& value) {
    static const json kEmpty = json::array();
    return value.is_array() ? value : kEmpty;
}

std::string reasoningOf(const json& messageOrDelta) {
    auto reasoning = textOf(field(messageOrDelta, "reasoning_content"));
    return reasoning.empty() ? textOf(field(messageOrDelta, "reasoning")) : reasoning;
}

std::int64_t unixNow() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

ChatEvent readChatEvent(std::string_view frame) {
    ChatEvent event;
    const auto data = sseEventData(frame);
    if (!data) return event;
    if (*data == "[DONE]") {
        event.kind = ChatEvent::Kind::End;
        return event;
    }
    event.chunk = parseJson(*data);
    if (!event.chunk.is_object()) {
        event.kind = ChatEvent::Kind::Error;
        event.error = "the backend sent an event that is not JSON";
        return event;
    }
    // An error object instead of a chunk: OpenAI's {"error":{"message":…}},
    // or a bare string as some servers send it.
    if (event.chunk.contains("error") && !event.chunk.contains("choices")) {
        const auto& error = event.chunk["error"];
        event.kind = ChatEvent::Kind::Error;
        event.error = error.is_object() ? textOf(field(error, "message")) : textOf(error);
        if (event.error.empty()) event.error = "the backend reported an error";
        return event;
    }
    event.kind = ChatEvent::Kind::Chunk;
    return event;
}

} // namespace sluice::kernel
