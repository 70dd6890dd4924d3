// readUsage: token counts from an Ollama final object or an OpenAI usage object.
#include <cppunit/extensions/HelperMacros.h>

#include "dialect/Usage.h"

namespace {

using nlohmann::json;
using sluice::Usage;
using sluice::kernel::readUsage;

class UsageTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(UsageTest);
    CPPUNIT_TEST(readsOllamaFinalObject);
    CPPUNIT_TEST(readsOpenAiUsage);
    CPPUNIT_TEST(readsTheAgentsApisUsage);
    CPPUNIT_TEST(neitherIsNotReported);
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
};

CPPUNIT_TEST_SUITE_REGISTRATION(UsageTest);

} // namespace
