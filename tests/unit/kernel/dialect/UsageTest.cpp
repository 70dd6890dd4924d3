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
