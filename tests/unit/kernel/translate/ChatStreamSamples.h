#pragma once
// What the stream translators' tests feed and read: an OpenAI chat-completion
// stream's events as a provider sends them, and the named SSE events
// (Anthropic's, the Responses API's) the translators send.

#include <string>
#include <vector>

#include <cppunit/extensions/HelperMacros.h>
#include <nlohmann/json.hpp>

namespace sluice::test::chat {

inline const std::string kDone = "data: [DONE]\n\n";

inline std::string event(const std::string& data) { return "data: " + data + "\n\n"; }

// A chunk with one choice's delta, as OpenAI streams it.
inline std::string chunk(const nlohmann::json& delta, const nlohmann::json& finishReason = nullptr) {
    return event(nlohmann::json{{"id", "chatcmpl-1"},
                                {"object", "chat.completion.chunk"},
                                {"created", 1735689600},
                                {"model", "gpt-4o-mini-2024-07-18"},
                                {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finishReason}}}},
                                {"usage", nullptr}}
                     .dump());
}

// The include_usage chunk: after the finish_reason, with no choices.
inline std::string usageChunk(int prompt, int completion) {
    return event(nlohmann::json{{"id", "chatcmpl-1"},
                                {"object", "chat.completion.chunk"},
                                {"choices", nlohmann::json::array()},
                                {"usage", {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}}}}
                     .dump());
}

// The data of each "event: NAME\ndata: JSON\n\n" in `text`, checking that
// every event is whole and NAME is its data's type.
inline std::vector<nlohmann::json> namedEventsOf(const std::string& text) {
    std::vector<nlohmann::json> events;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = text.find("\n\n", start);
        CPPUNIT_ASSERT_MESSAGE("every event ends with a blank line", end != std::string::npos);
        const auto frame = text.substr(start, end - start);
        const auto newline = frame.find('\n');
        CPPUNIT_ASSERT_MESSAGE(frame, frame.starts_with("event: ") && newline != std::string::npos &&
                                          frame.compare(newline + 1, 6, "data: ") == 0);
        auto data = nlohmann::json::parse(frame.substr(newline + 7));
        CPPUNIT_ASSERT_EQUAL(frame.substr(7, newline - 7), data["type"].get<std::string>());
        events.push_back(std::move(data));
        start = end + 2;
    }
    return events;
}

} // namespace sluice::test::chat
