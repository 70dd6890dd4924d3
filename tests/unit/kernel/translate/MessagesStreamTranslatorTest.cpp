// MessagesStreamTranslator: OpenAI SSE events in, the SSE events of an
// Anthropic Messages stream out, with the relay's step for each.
#include <cppunit/extensions/HelperMacros.h>

#include <vector>

#include "ChatStreamSamples.h"
#include "translate/MessagesStreamTranslator.h"

namespace {

using nlohmann::json;
using sluice::kernel::MessagesStreamTranslator;
using Step = MessagesStreamTranslator::Step;
using namespace sluice::test::chat;

// The events in `text` are exactly `expected` (JSON texts), in order.
void expectEvents(const std::string& text, const std::vector<std::string>& expected) {
    const auto events = namedEventsOf(text);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(text, expected.size(), events.size());
    for (std::size_t i = 0; i < events.size(); ++i) CPPUNIT_ASSERT_EQUAL(json::parse(expected[i]), events[i]);
}

const std::string kStart = R"({"type":"message_start","message":{"id":"msg_chatcmpl-1","type":"message","role":"assistant",
    "model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}})";
const std::string kPing = R"({"type":"ping"})";
const std::string kTextStart = R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})";
const std::string kStop = R"({"type":"message_stop"})";

std::string blockStop(int index) { return R"({"type":"content_block_stop","index":)" + std::to_string(index) + "}"; }
std::string textDelta(int index, const std::string& text) {
    return json{{"type", "content_block_delta"}, {"index", index}, {"delta", {{"type", "text_delta"}, {"text", text}}}}.dump();
}
std::string jsonDelta(int index, const std::string& piece) {
    return json{{"type", "content_block_delta"}, {"index", index}, {"delta", {{"type", "input_json_delta"}, {"partial_json", piece}}}}.dump();
}
std::string toolStart(int index, const std::string& id, const std::string& name) {
    return json{{"type", "content_block_start"}, {"index", index},
                {"content_block", {{"type", "tool_use"}, {"id", id}, {"name", name}, {"input", json::object()}}}}.dump();
}
std::string messageDelta(const std::string& stopReason, int input, int output) {
    return json{{"type", "message_delta"}, {"delta", {{"stop_reason", stopReason}, {"stop_sequence", nullptr}}},
                {"usage", {{"input_tokens", input}, {"output_tokens", output}}}}.dump();
}

class MessagesStreamTranslatorTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MessagesStreamTranslatorTest);
    CPPUNIT_TEST(quietUntilContentThenTheOpeningComesWithIt);
    CPPUNIT_TEST(doneClosesWithStopReasonAndUsage);
    CPPUNIT_TEST(reasoningIsAThinkingBlockBeforeTheText);
    CPPUNIT_TEST(toolArgumentsStreamInPieces);
    CPPUNIT_TEST(twoToolCallsAreTwoBlocks);
    CPPUNIT_TEST(textThenToolCall);
    CPPUNIT_TEST(wholeToolCallsAndLateNames);
    CPPUNIT_TEST(aFinishWithoutContentStillMakesAMessage);
    CPPUNIT_TEST(stopReasonsFollowTheFinishReason);
    CPPUNIT_TEST(errorEventsStopTheStream);
    CPPUNIT_TEST(finishWithAndWithoutFinishReason);
    CPPUNIT_TEST(commentsOtherChoicesAndLateEventsAddNothing);
    CPPUNIT_TEST(aKeepAliveAfterTheStartIsAPing);
    CPPUNIT_TEST_SUITE_END();

public:
    void quietUntilContentThenTheOpeningComesWithIt() {
        MessagesStreamTranslator translator("claude-sonnet-4-5");
        std::string out;
        CPPUNIT_ASSERT(translator.take(": keep-alive\n\n", out) == Step::Quiet);
        CPPUNIT_ASSERT(translator.take(chunk({{"role", "assistant"}, {"content", ""}}), out) == Step::Quiet);
        CPPUNIT_ASSERT(out.empty());
        CPPUNIT_ASSERT(translator.take(chunk({{"content", "Hel"}}), out) == Step::Answer);
        expectEvents(out, {kStart, kPing, kTextStart, textDelta(0, "Hel")});
        // In Anthropic's order, named in the event line.
        CPPUNIT_ASSERT(out.starts_with("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_chatcmpl-1\","));
        std::string next;
        CPPUNIT_ASSERT(translator.take(chunk({{"content", "lo"}}), next) == Step::Answer);
        expectEvents(next, {textDelta(0, "lo")});
    }

    void doneClosesWithStopReasonAndUsage() {
        MessagesStreamTranslator translator("claude-sonnet-4-5");
        std::string out;
        translator.take(chunk({{"role", "assistant"}, {"content", "Hi"}}), out);
        out.clear();
        CPPUNIT_ASSERT(translator.take(chunk(json::object(), "stop"), out) == Step::Quiet);
        CPPUNIT_ASSERT(!translator.usage().reported);
        CPPUNIT_ASSERT(translator.take(usageChunk(9, 2), out) == Step::Quiet);
        CPPUNIT_ASSERT(out.empty());
        CPPUNIT_ASSERT(translator.usage().reported);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{9}, translator.usage().promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, translator.usage().completionTokens);
        CPPUNIT_ASSERT(translator.take(kDone, out) == Step::Done);
        expectEvents(out, {blockStop(0), messageDelta("end_turn", 9, 2), kStop});
    }

    void reasoningIsAThinkingBlockBeforeTheText() {
        MessagesStreamTranslator translator("claude-sonnet-4-5");
        std::string out;
        CPPUNIT_ASSERT(translator.take(chunk({{"role", "assistant"}, {"reasoning_content", "Think"}}), out) == Step::Answer);
        translator.take(chunk({{"reasoning", "ing."}}), out);  // Ollama's spelling
        translator.take(chunk({{"content", "Answer."}}), out);
        translator.take(chunk(json::object(), "stop"), out);
        CPPUNIT_ASSERT(translator.take(kDone, out) == Step::Done);
        expectEvents(out, {kStart, kPing,
                           R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}})",
                           R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Think"}})",
                           R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"ing."}})",
                           blockStop(0), R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})",
                           textDelta(1, "Answer."), blockStop(1), messageDelta("end_turn", 0, 0), kStop});
    }

    void toolArgumentsStreamInPieces() {
        MessagesStreamTranslator translator("claude-sonnet-4-5");
        std::string out;
        CPPUNIT_ASSERT(translator.take(chunk(json::parse(R"({"role":"assistant","content":null,"tool_calls":[
            {"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]})")), out) == Step::Answer);
        expectEvents(out, {kStart, kPing, toolStart(0, "call_1", "get_weather")});
        std::string pieces;
        for (const char* piece : {R"({\"city\":)", R"( \"Par)", R"(is\"})"})
            CPPUNIT_ASSERT(translator.take(chunk(json::parse(std::string(R"({"tool_calls":[{"index":0,"function":{"arguments":")") + piece +
                                                             R"("}}]})")), pieces) == Step::Answer);
        translator.take(chunk(json::object(), "tool_calls"), pieces);
        translator.take(usageChunk(20, 8), pieces);
        CPPUNIT_ASSERT(translator.take(kDone, pieces) == Step::Done);
        expectEvents(pieces, {jsonDelta(0, R"({"city":)"), jsonDelta(0, R"( "Par)"), jsonDelta(0, R"(is"})"), blockStop(0),
                              messageDelta("tool_use", 20, 8), kStop});
        // What the client assembles is the call's input.
        std::string input;
        for (const auto& one : namedEventsOf(pieces))
            if (one["type"] == "content_block_delta") input += one["delta"]["partial_json"].get<std::string>();
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"city":"Paris"})"), json::parse(input));
    }

    void twoToolCallsAreTwoBlocks() {
        MessagesStreamTranslator translator("claude-sonnet-4-5");
        std::string out;
        translator.take(chunk(json::parse(R"({"tool_calls":[{"index":0,"id":"call_1","type":"function",
            "function":{"name":"get_weather","arguments":"{\"city\":"}}]})")), out);
        translator.take(chunk(json::parse(R"({"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}},
            {"index":1,"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]})")), out);
        translator.take(chunk(json::object(), "tool_calls"), out);
        translator.take(kDone, out);
        expectEvents(out, {kStart, kPing, toolStart(0, "call_1", "get_weather"), jsonDelta(0, R"({"city":)"), jsonDelta(0, R"("Paris"})"),
                           blockStop(0), toolStart(1, "call_2", "now"), jsonDelta(1, "{}"), blockStop(1),
                           messageDelta("tool_use", 0, 0), kStop});
    }

    void textThenToolCall() {
        MessagesStreamTranslator translator("claude-sonnet-4-5");
        std::string out;
        translator.take(chunk({{"role", "assistant"}, {"content", "Let me check."}}), out);
        translator.take(chunk(json::parse(R"({"tool_calls":[{"index":0,"id":"call_7","type":"function",
            "function":{"name":"now","arguments":"{}"}}]})")), out);
        // Some providers say "stop" after tool calls: the turn still ended to run them.
        translator.take(chunk(json::object(), "stop"), out);
        translator.take(kDone, out);
        expectEvents(out, {kStart, kPing, kTextStart, textDelta(0, "Let me check."), blockStop(0), toolStart(1, "call_7", "now"),
                           jsonDelta(1, "{}"), blockStop(1), messageDelta("tool_use", 0, 0), kStop});
    }

    void wholeToolCallsAndLateNames() {
        // No index (each call whole, as some providers send them): each new id is the next call.
        MessagesStreamTranslator whole("claude-sonnet-4-5");
        std::string out;
        whole.take(chunk(json::parse(R"({"tool_calls":[{"id":"call_a","function":{"name":"f","arguments":"{\"x\":1}"}},
            {"id":"call_b","function":{"name":"g","arguments":{"y":2}}}]})")), out);
        whole.take(kDone, out);
        expectEvents(out, {kStart, kPing, toolStart(0, "call_a", "f"), jsonDelta(0, R"({"x":1})"), blockStop(0), toolStart(1, "call_b", "g"),
                           jsonDelta(1, R"({"y":2})"), blockStop(1), messageDelta("tool_use", 0, 0), kStop});
        // A name that comes after the first piece: the block waits for it, with the arguments so far.
        MessagesStreamTranslator late("claude-sonnet-4-5");
        std::string waited;
        CPPUNIT_ASSERT(late.take(chunk(json::parse(R"({"tool_calls":[{"index":0,"id":"call_c","function":{"arguments":"{"}}]})")), waited) == Step::Quiet);
        CPPUNIT_ASSERT(waited.empty());
        CPPUNIT_ASSERT(late.take(chunk(json::parse(R"({"tool_calls":[{"index":0,"function":{"name":"h","arguments":"}"}}]})")), waited) == Step::Answer);
        expectEvents(waited, {kStart, kPing, toolStart(0, "call_c", "h"), jsonDelta(0, "{}")});
    }

    void aFinishWithoutContentStillMakesAMessage() {
        MessagesStreamTranslator translator("claude-sonnet-4-5");
        std::string out;
        CPPUNIT_ASSERT(translator.take(chunk({{"role", "assistant"}}), out) == Step::Quiet);
        CPPUNIT_ASSERT(translator.take(chunk(json::object(), "stop"), out) == Step::Quiet);
        CPPUNIT_ASSERT(translator.take(usageChunk(5, 0), out) == Step::Quiet);
        CPPUNIT_ASSERT(out.empty());
        CPPUNIT_ASSERT(translator.take(kDone, out) == Step::Done);
        // The input count is known by the time message_start goes out.
        auto start = json::parse(kStart);
        start["message"]["usage"]["input_tokens"] = 5;
        expectEvents(out, {start.dump(), kPing, messageDelta("end_turn", 5, 0), kStop});
    }

    void stopReasonsFollowTheFinishReason() {
        for (const auto& [finish, expected] : std::vector<std::pair<std::string, std::string>>{
                 {"length", "max_tokens"}, {"content_filter", "refusal"}, {"tool_calls", "tool_use"}, {"stop", "end_turn"}}) {
            MessagesStreamTranslator translator("claude-sonnet-4-5");
            std::string out;
            translator.take(chunk({{"content", "x"}}, finish), out);
            translator.take(kDone, out);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(finish, json(expected), namedEventsOf(out).at(5)["delta"]["stop_reason"]);
        }
    }

    void errorEventsStopTheStream() {
        MessagesStreamTranslator translator("claude-sonnet-4-5");
        std::string out;
        translator.take(chunk({{"content", "Hi"}}), out);
        const auto before = out;
        CPPUNIT_ASSERT(translator.take(event(R"({"error":{"message":"The server is overloaded","type":"server_error"}})"), out) == Step::Error);
        CPPUNIT_ASSERT_EQUAL(std::string("The server is overloaded"), translator.error());
        CPPUNIT_ASSERT_EQUAL(before, out);

        MessagesStreamTranslator plain("claude-sonnet-4-5");
        std::string nothing;
        CPPUNIT_ASSERT(plain.take(event(R"({"error":"quota exceeded"})"), nothing) == Step::Error);
        CPPUNIT_ASSERT_EQUAL(std::string("quota exceeded"), plain.error());
        MessagesStreamTranslator garbled("claude-sonnet-4-5");
        CPPUNIT_ASSERT(garbled.take(event("{\"choices\":[{\"delta\""), nothing) == Step::Error);
        CPPUNIT_ASSERT(!garbled.error().empty());
        CPPUNIT_ASSERT(nothing.empty());
    }

    void finishWithAndWithoutFinishReason() {
        MessagesStreamTranslator cut("claude-sonnet-4-5");
        std::string out;
        cut.take(chunk({{"content", "Hel"}}), out);
        const auto before = out;
        CPPUNIT_ASSERT_MESSAGE("no finish_reason: cut short", !cut.finish(out));
        CPPUNIT_ASSERT_EQUAL(before, out);

        MessagesStreamTranslator finished("claude-sonnet-4-5");
        std::string whole;
        finished.take(chunk({{"content", "Hello"}}), whole);
        finished.take(chunk(json::object(), "length"), whole);
        whole.clear();
        CPPUNIT_ASSERT(finished.finish(whole));
        expectEvents(whole, {blockStop(0), messageDelta("max_tokens", 0, 0), kStop});
        // Finished once: nothing more.
        CPPUNIT_ASSERT(finished.finish(whole));
        CPPUNIT_ASSERT(finished.take(kDone, whole) == Step::Done);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), namedEventsOf(whole).size());
    }

    void commentsOtherChoicesAndLateEventsAddNothing() {
        MessagesStreamTranslator translator("claude-sonnet-4-5");
        std::string out;
        for (const char* nothing : {": keep-alive\n\n", "\n\n", "event: ping\n\n", "id: 4\nretry: 100\n\n"})
            CPPUNIT_ASSERT_MESSAGE(nothing, translator.take(nothing, out) == Step::Quiet);
        // A second choice is not the client's answer.
        CPPUNIT_ASSERT(translator.take(event(json{{"choices", {{{"index", 1}, {"delta", {{"content", "other"}}}}}}}.dump()), out) == Step::Quiet);
        CPPUNIT_ASSERT(out.empty());
        CPPUNIT_ASSERT(translator.take(kDone, out) == Step::Done);
        const auto after = out;
        CPPUNIT_ASSERT(translator.take(chunk({{"content", "late"}}), out) == Step::Done);
        CPPUNIT_ASSERT(translator.finish(out));
        CPPUNIT_ASSERT_EQUAL(after, out);
    }

    // A provider that says "still working" mid-answer: the client hears a ping.
    void aKeepAliveAfterTheStartIsAPing() {
        MessagesStreamTranslator translator("claude-sonnet-4-5");
        std::string out;
        CPPUNIT_ASSERT(translator.take(chunk({{"role", "assistant"}, {"content", "Hi"}}), out) == Step::Answer);
        out.clear();
        CPPUNIT_ASSERT(translator.take(": keep-alive\n\n", out) == Step::Quiet);
        expectEvents(out, {R"({"type":"ping"})"});
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MessagesStreamTranslatorTest);

} // namespace
