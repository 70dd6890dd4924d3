// StreamTranslator: OpenAI SSE events in, the NDJSON lines of an Ollama stream out.
#include <cppunit/extensions/HelperMacros.h>

#include <vector>

#include "ChatStreamSamples.h"
#include "translate/StreamTranslator.h"

namespace {

using nlohmann::json;
using sluice::kernel::OllamaCall;
using sluice::kernel::StreamTranslator;
using Step = StreamTranslator::Step;
using namespace sluice::test::chat;

std::vector<json> linesOf(const std::string& text) {
    std::vector<json> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = text.find('\n', start);
        CPPUNIT_ASSERT_MESSAGE("every line ends with a newline", end != std::string::npos);
        lines.push_back(json::parse(text.substr(start, end - start)));
        start = end + 1;
    }
    return lines;
}

class StreamTranslatorTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(StreamTranslatorTest);
    CPPUNIT_TEST(contentDeltasBecomeLinesAndDoneTheFinalLine);
    CPPUNIT_TEST(generateLinesCarryResponse);
    CPPUNIT_TEST(toolCallDeltasAreAssembledIntoOneLine);
    CPPUNIT_TEST(errorEventsStopTheStream);
    CPPUNIT_TEST(commentsAndEventsWithoutDataAddNothing);
    CPPUNIT_TEST(eventSpellings);
    CPPUNIT_TEST(aFinishedStreamWithoutDoneEnds);
    CPPUNIT_TEST(eventsAfterDoneAreIgnored);
    CPPUNIT_TEST(withoutUsageNoCountsAreMadeUp);
    CPPUNIT_TEST_SUITE_END();

public:
    void contentDeltasBecomeLinesAndDoneTheFinalLine() {
        StreamTranslator translator(OllamaCall::Chat, "gpt-4o-mini", std::chrono::steady_clock::now());
        std::string out;
        // The role-only opening says nothing to an Ollama client.
        CPPUNIT_ASSERT(translator.take(chunk({{"role", "assistant"}, {"content", ""}}), out) == Step::More);
        CPPUNIT_ASSERT(out.empty());
        CPPUNIT_ASSERT(translator.take(chunk({{"content", "Hel"}}), out) == Step::More);
        CPPUNIT_ASSERT(translator.take(chunk({{"content", "lo"}}), out) == Step::More);
        CPPUNIT_ASSERT(translator.take(chunk(json::object(), "stop"), out) == Step::More);
        CPPUNIT_ASSERT(!translator.usage().reported);
        CPPUNIT_ASSERT(translator.take(usageChunk(9, 2), out) == Step::More);
        CPPUNIT_ASSERT(translator.usage().reported);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{9}, translator.usage().promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, translator.usage().completionTokens);
        CPPUNIT_ASSERT(!translator.done());
        CPPUNIT_ASSERT(translator.take("data: [DONE]\n\n", out) == Step::Done);
        CPPUNIT_ASSERT(translator.done());

        const auto lines = linesOf(out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), lines.size());
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"role":"assistant","content":"Hel"})"), lines[0]["message"]);
        CPPUNIT_ASSERT_EQUAL(std::string("lo"), lines[1]["message"]["content"].get<std::string>());
        for (std::size_t i = 0; i < 2; ++i) {
            CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o-mini"), lines[i]["model"].get<std::string>());
            CPPUNIT_ASSERT(lines[i]["created_at"].is_string());
            CPPUNIT_ASSERT_EQUAL(json(false), lines[i]["done"]);
        }
        const auto& last = lines[2];
        CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o-mini"), last["model"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"role":"assistant","content":""})"), last["message"]);
        CPPUNIT_ASSERT_EQUAL(json(true), last["done"]);
        CPPUNIT_ASSERT_EQUAL(std::string("stop"), last["done_reason"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(9, last["prompt_eval_count"].get<int>());
        CPPUNIT_ASSERT_EQUAL(2, last["eval_count"].get<int>());
        CPPUNIT_ASSERT(last["total_duration"].get<long long>() >= 0);
        // The model comes first, as in Ollama's own lines.
        CPPUNIT_ASSERT(out.starts_with(R"({"model":"gpt-4o-mini","created_at":)"));
    }

    void generateLinesCarryResponse() {
        StreamTranslator translator(OllamaCall::Generate, "gpt-4o-mini", std::chrono::steady_clock::now());
        std::string out;
        translator.take(chunk({{"role", "assistant"}, {"content", "Blue"}}), out);
        translator.take(chunk(json::object(), "length"), out);
        translator.take(usageChunk(4, 1), out);
        translator.take("data: [DONE]\n\n", out);
        const auto lines = linesOf(out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), lines.size());
        CPPUNIT_ASSERT_EQUAL(std::string("Blue"), lines[0]["response"].get<std::string>());
        CPPUNIT_ASSERT(!lines[0].contains("message"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), lines[1]["response"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("length"), lines[1]["done_reason"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(1, lines[1]["eval_count"].get<int>());
    }

    void toolCallDeltasAreAssembledIntoOneLine() {
        StreamTranslator translator(OllamaCall::Chat, "m", std::chrono::steady_clock::now());
        std::string out;
        translator.take(chunk(json::parse(R"({"role":"assistant","content":null,"tool_calls":[
            {"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]})")), out);
        translator.take(chunk(json::parse(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]})")), out);
        translator.take(chunk(json::parse(R"({"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}},
            {"index":1,"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]})")), out);
        CPPUNIT_ASSERT_MESSAGE("nothing until the calls are complete", out.empty());
        translator.take(chunk(json::object(), "tool_calls"), out);
        translator.take("data: [DONE]\n\n", out);
        const auto lines = linesOf(out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), lines.size());
        const auto expected = json::parse(R"([{"id":"call_1","function":{"name":"get_weather","arguments":{"city":"Paris"}}},
                                              {"id":"call_2","function":{"name":"now","arguments":{}}}])");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), lines[0]["message"]["tool_calls"].dump());
        CPPUNIT_ASSERT_EQUAL(json(false), lines[0]["done"]);
        CPPUNIT_ASSERT_EQUAL(std::string("stop"), lines[1]["done_reason"].get<std::string>());
        CPPUNIT_ASSERT(!lines[1]["message"].contains("tool_calls"));
    }

    void errorEventsStopTheStream() {
        StreamTranslator translator(OllamaCall::Chat, "m", std::chrono::steady_clock::now());
        std::string out;
        translator.take(chunk({{"content", "Hi"}}), out);
        const auto before = out;
        CPPUNIT_ASSERT(translator.take(event(R"({"error":{"message":"The server is overloaded","type":"server_error"}})"), out) == Step::Error);
        CPPUNIT_ASSERT_EQUAL(std::string("The server is overloaded"), translator.error());
        CPPUNIT_ASSERT_EQUAL(before, out);

        StreamTranslator plain(OllamaCall::Chat, "m", std::chrono::steady_clock::now());
        CPPUNIT_ASSERT(plain.take(event(R"({"error":"quota exceeded"})"), out) == Step::Error);
        CPPUNIT_ASSERT_EQUAL(std::string("quota exceeded"), plain.error());

        StreamTranslator garbled(OllamaCall::Chat, "m", std::chrono::steady_clock::now());
        CPPUNIT_ASSERT(garbled.take(event("{\"choices\":[{\"delta\""), out) == Step::Error);
        CPPUNIT_ASSERT(!garbled.error().empty());
        CPPUNIT_ASSERT_EQUAL(before, out);
    }

    void commentsAndEventsWithoutDataAddNothing() {
        StreamTranslator translator(OllamaCall::Chat, "m", std::chrono::steady_clock::now());
        std::string out;
        for (const char* nothing : {": keep-alive\n\n", "\n\n", "event: ping\n\n", "id: 4\nretry: 100\n\n"})
            CPPUNIT_ASSERT_MESSAGE(nothing, translator.take(nothing, out) == Step::More);
        CPPUNIT_ASSERT(out.empty());
        CPPUNIT_ASSERT(!translator.done());
    }

    void eventSpellings() {
        // CRLF line ends, no space after "data:", and a named event with data.
        StreamTranslator translator(OllamaCall::Chat, "m", std::chrono::steady_clock::now());
        std::string out;
        translator.take("data:" + json{{"choices", {{{"index", 0}, {"delta", {{"content", "a"}}}}}}}.dump() + "\r\n\r\n", out);
        translator.take("event: message\ndata: " + json{{"choices", {{{"index", 0}, {"delta", {{"content", "b"}}}}}}}.dump() + "\n\n", out);
        CPPUNIT_ASSERT(translator.take("data:[DONE]\r\n\r\n", out) == Step::Done);
        const auto lines = linesOf(out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), lines.size());
        CPPUNIT_ASSERT_EQUAL(std::string("a"), lines[0]["message"]["content"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("b"), lines[1]["message"]["content"].get<std::string>());
        // A second choice is not the client's answer.
        StreamTranslator one(OllamaCall::Chat, "m", std::chrono::steady_clock::now());
        std::string single;
        one.take(event(json{{"choices", {{{"index", 1}, {"delta", {{"content", "other"}}}}}}}.dump()), single);
        CPPUNIT_ASSERT(single.empty());
    }

    void aFinishedStreamWithoutDoneEnds() {
        StreamTranslator cut(OllamaCall::Chat, "m", std::chrono::steady_clock::now());
        std::string out;
        cut.take(chunk({{"content", "Hel"}}), out);
        const auto before = out;
        CPPUNIT_ASSERT_MESSAGE("no finish_reason: cut short", !cut.finish(out));
        CPPUNIT_ASSERT_EQUAL(before, out);

        StreamTranslator finished(OllamaCall::Chat, "m", std::chrono::steady_clock::now());
        std::string whole;
        finished.take(chunk({{"content", "Hello"}}), whole);
        finished.take(chunk(json::object(), "stop"), whole);
        CPPUNIT_ASSERT(finished.finish(whole));
        const auto lines = linesOf(whole);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), lines.size());
        CPPUNIT_ASSERT_EQUAL(json(true), lines[1]["done"]);
        CPPUNIT_ASSERT(finished.done());
    }

    void eventsAfterDoneAreIgnored() {
        StreamTranslator translator(OllamaCall::Chat, "m", std::chrono::steady_clock::now());
        std::string out;
        translator.take("data: [DONE]\n\n", out);
        const auto after = out;
        CPPUNIT_ASSERT(translator.take(chunk({{"content", "late"}}), out) == Step::Done);
        CPPUNIT_ASSERT(translator.take("data: [DONE]\n\n", out) == Step::Done);
        CPPUNIT_ASSERT(translator.finish(out));
        CPPUNIT_ASSERT_EQUAL(after, out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), linesOf(out).size());
    }

    void withoutUsageNoCountsAreMadeUp() {
        StreamTranslator translator(OllamaCall::Chat, "m", std::chrono::steady_clock::now());
        std::string out;
        translator.take(chunk({{"content", "x"}}, "stop"), out);
        translator.take("data: [DONE]\n\n", out);
        const auto lines = linesOf(out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), lines.size());
        CPPUNIT_ASSERT(!lines[1].contains("eval_count"));
        CPPUNIT_ASSERT(!lines[1].contains("prompt_eval_count"));
        CPPUNIT_ASSERT(!translator.usage().reported);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(StreamTranslatorTest);

} // namespace
