// readUsage: token counts from an Ollama final object or an OpenAI usage object.
// addEarlierUsage: a continued stream's counts, the earlier part's added.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "dialect/Usage.h"

namespace {

using nlohmann::json;
using sluice::Usage;
using sluice::kernel::addEarlierUsage;
using sluice::kernel::readUsage;

// The lines of `text`, each without its '\n' (a last empty one kept).
std::vector<std::string> linesOf(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    lines.push_back(text.substr(start));
    return lines;
}

Usage earlierPart(std::uint64_t prompt, std::uint64_t completion) {
    Usage usage;
    usage.promptTokens = prompt;
    usage.completionTokens = completion;
    usage.reported = true;
    return usage;
}

class UsageTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(UsageTest);
    CPPUNIT_TEST(readsOllamaFinalObject);
    CPPUNIT_TEST(readsOpenAiUsage);
    CPPUNIT_TEST(readsTheAgentsApisUsage);
    CPPUNIT_TEST(neitherIsNotReported);
    CPPUNIT_TEST(earlierUsageIsAddedToOllamasFinalLine);
    CPPUNIT_TEST(earlierUsageIsAddedToAnOpenAiUsageChunk);
    CPPUNIT_TEST(framesWithoutCountsAreLeftAsTheyWere);
    CPPUNIT_TEST(aFinalLineWithoutPromptCountStillAddsTheAnswer);
    CPPUNIT_TEST_SUITE_END();

public:
    void readsOllamaFinalObject() {
        Usage usage;
        readUsage(json::parse(R"({"model":"llama3.2","done":true,"prompt_eval_count":26,"eval_count":290})"), usage);
        CPPUNIT_ASSERT(usage.reported);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{26}, usage.promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{290}, usage.completionTokens);
        // A cached prompt: Ollama omits prompt_eval_count.
        Usage cached;
        readUsage(json::parse(R"({"done":true,"eval_count":5})"), cached);
        CPPUNIT_ASSERT(cached.reported);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, cached.promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{5}, cached.completionTokens);
    }

    void readsOpenAiUsage() {
        Usage usage;
        readUsage(json::parse(R"({"id":"c1","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30}})"),
                  usage);
        CPPUNIT_ASSERT(usage.reported);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{10}, usage.promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{20}, usage.completionTokens);
    }

    // Anthropic's and the Responses API's names, at the top or inside the
    // event that wraps the answer; a count not in an event keeps its value.
    void readsTheAgentsApisUsage() {
        Usage usage;
        readUsage(json::parse(R"({"type":"message_start","message":{"usage":{"input_tokens":12,"output_tokens":1}}})"), usage);
        CPPUNIT_ASSERT(usage.reported);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{12}, usage.promptTokens);
        readUsage(json::parse(R"({"type":"message_delta","usage":{"output_tokens":40}})"), usage);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{12}, usage.promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{40}, usage.completionTokens);
        Usage responses;
        readUsage(json::parse(R"({"type":"response.completed","response":{"usage":{"input_tokens":3,"output_tokens":4,"total_tokens":7}}})"),
                  responses);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, responses.promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{4}, responses.completionTokens);
        Usage whole;
        readUsage(json::parse(R"({"object":"response","usage":{"input_tokens":5,"output_tokens":6}})"), whole);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{6}, whole.completionTokens);
        // Anthropic's prompt-cache reads and writes were prompt tokens too.
        Usage cached;
        readUsage(json::parse(R"({"usage":{"input_tokens":4,"cache_read_input_tokens":48000,"cache_creation_input_tokens":100,"output_tokens":9}})"),
                  cached);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{48104}, cached.promptTokens);
        Usage none;
        readUsage(json::parse(R"({"type":"response.created","response":{"usage":null}})"), none);
        CPPUNIT_ASSERT(!none.reported);
    }

    void neitherIsNotReported() {
        for (const char* text : {R"({"id":"c1","choices":[{"delta":{"content":"hi"}}]})", R"({"usage":null})",
                                 R"({"message":{"content":"x"},"done":false})", "[1,2]", "\"text\"", "null"}) {
            Usage usage;
            readUsage(json::parse(text), usage);
            CPPUNIT_ASSERT_MESSAGE(text, !usage.reported);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(text, std::uint64_t{0}, usage.promptTokens);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(text, std::uint64_t{0}, usage.completionTokens);
        }
        Usage usage;
        readUsage(json::parse("{ not json", nullptr, false), usage);
        CPPUNIT_ASSERT(!usage.reported);
    }

    void earlierUsageIsAddedToOllamasFinalLine() {
        const std::string first = R"({"model":"llama3.2","created_at":"2026-12-05T03:00:00Z",)"
                                  R"("message":{"role":"assistant","content":" world"},"done":false})";
        const std::string second = R"({"model":"llama3.2","created_at":"2026-12-05T03:00:01Z",)"
                                   R"("message":{"role":"assistant","content":"!"},"done":false})";
        const std::string last = R"({"model":"llama3.2","created_at":"2026-12-05T03:00:01Z",)"
                                 R"("message":{"role":"assistant","content":""},"done":true,"done_reason":"stop",)"
                                 R"("total_duration":123456,"prompt_eval_count":40,"eval_count":12})";
        std::string frames = first + "\n" + second + "\n" + last + "\n";
        addEarlierUsage(frames, true, earlierPart(30, 8));

        const auto lines = linesOf(frames);
        CPPUNIT_ASSERT_EQUAL(std::size_t{4}, lines.size());
        CPPUNIT_ASSERT_EQUAL(first, lines[0]);
        CPPUNIT_ASSERT_EQUAL(second, lines[1]);
        CPPUNIT_ASSERT_EQUAL(std::string(), lines[3]);  // still ends with its newline, and only one
        const auto final = json::parse(lines[2]);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{70}, final.at("prompt_eval_count").get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{20}, final.at("eval_count").get<std::uint64_t>());
        // Everything else in the line is as it was.
        auto expected = json::parse(last);
        expected["prompt_eval_count"] = 70;
        expected["eval_count"] = 20;
        CPPUNIT_ASSERT_EQUAL(expected.dump(), final.dump());
        // The client reads the sum.
        Usage usage;
        readUsage(final, usage);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{70}, usage.promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{20}, usage.completionTokens);

        // A final line on its own, without a newline after it.
        std::string alone = last;
        addEarlierUsage(alone, true, earlierPart(1, 2));
        CPPUNIT_ASSERT(alone.find('\n') == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{41}, json::parse(alone).at("prompt_eval_count").get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{14}, json::parse(alone).at("eval_count").get<std::uint64_t>());
    }

    void earlierUsageIsAddedToAnOpenAiUsageChunk() {
        const std::string content = R"(data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",)"
                                    R"("choices":[{"index":0,"delta":{"content":"!"},"finish_reason":null}],"usage":null})";
        const std::string stop = R"(data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",)"
                                 R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null})";
        const std::string usageChunk = R"(data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",)"
                                       R"("choices":[],"usage":{"prompt_tokens":40,"completion_tokens":12,"total_tokens":52}})";
        std::string frames = content + "\n\n" + stop + "\n\n" + usageChunk + "\n\n" + "data: [DONE]\n\n";
        addEarlierUsage(frames, false, earlierPart(30, 8));

        const auto lines = linesOf(frames);
        CPPUNIT_ASSERT_EQUAL(std::size_t{9}, lines.size());
        CPPUNIT_ASSERT_EQUAL(content, lines[0]);
        CPPUNIT_ASSERT_EQUAL(stop, lines[2]);
        CPPUNIT_ASSERT_EQUAL(std::string("data: [DONE]"), lines[6]);
        for (std::size_t blank : {1u, 3u, 5u, 7u, 8u}) CPPUNIT_ASSERT_EQUAL(std::string(), lines[blank]);
        CPPUNIT_ASSERT(lines[4].starts_with("data: {"));
        const auto chunk = json::parse(lines[4].substr(6));
        const auto& usage = chunk.at("usage");
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{70}, usage.at("prompt_tokens").get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{20}, usage.at("completion_tokens").get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{90}, usage.at("total_tokens").get<std::uint64_t>());
        CPPUNIT_ASSERT_EQUAL(std::string("c1"), chunk.at("id").get<std::string>());
        CPPUNIT_ASSERT(chunk.at("choices").is_array() && chunk.at("choices").empty());
    }

    // Ollama omits prompt_eval_count when the prompt was cached.
    void aFinalLineWithoutPromptCountStillAddsTheAnswer() {
        std::string frames = "{\"done\":true,\"eval_count\":5}\n";
        addEarlierUsage(frames, true, earlierPart(30, 8));
        CPPUNIT_ASSERT(frames.ends_with("}\n"));
        const auto final = json::parse(frames);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{13}, final.at("eval_count").get<std::uint64_t>());
        // The earlier part's prompt is counted even though this line has none.
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{30}, final.value("prompt_eval_count", std::uint64_t{0}));
    }

    void framesWithoutCountsAreLeftAsTheyWere() {
        const auto earlier = earlierPart(30, 8);
        const std::vector<std::pair<std::string, bool>> streams{
            // Ollama lines before the final one.
            {"{\"message\":{\"role\":\"assistant\",\"content\":\"a\"},\"done\":false}\n"
             "{\"message\":{\"role\":\"assistant\",\"content\":\"b\"},  \"done\":false}\n", true},
            // OpenAI chunks, one with a null usage, a comment and the end.
            {"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],  \"usage\":null}\n\n"
             ": keep-alive\n\ndata: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", false},
            {"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", false},
            // A word that looks like a count, in the answer's text.
            {"{\"message\":{\"content\":\"usage eval_count\"},  \"done\":false}\n", true},
            {"", true},
            {"", false},
        };
        for (const auto& [stream, ndjson] : streams) {
            std::string frames = stream;
            addEarlierUsage(frames, ndjson, earlier);
            CPPUNIT_ASSERT_EQUAL(stream, frames);
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(UsageTest);

} // namespace
