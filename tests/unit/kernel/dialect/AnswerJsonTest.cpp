// AnswerJson: a whole answer is valid when nlohmann's parser takes it, and
// its counts are what readUsage reads from nlohmann's tree of it, though
// only the fields that carry counts are read (parseJsonFields).
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "dialect/AnswerJson.h"
#include "dialect/Usage.h"
#include "sluice/Json.h"

namespace {

using sluice::Usage;
using sluice::kernel::AnswerJson;

// Each answer: AnswerJson says what nlohmann's parser (under the depth
// bound) and readUsage over its tree say.
void agrees(const std::string& bytes) {
    auto tree = nlohmann::json::parse(bytes, nullptr, false);
    if (sluice::jsonDepth(bytes) > sluice::kMaxJsonDepth) tree = nlohmann::json(nlohmann::json::value_t::discarded);
    Usage expected;
    if (!tree.is_discarded()) sluice::kernel::readUsage(tree, expected);

    AnswerJson answer(bytes);
    const std::string what = "answer: " + bytes.substr(0, 120);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, !tree.is_discarded(), answer.valid());
    const auto usage = answer.usage();
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, expected.reported, usage.reported);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, expected.promptTokens, usage.promptTokens);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, expected.completionTokens, usage.completionTokens);
    if (answer.valid()) CPPUNIT_ASSERT_EQUAL_MESSAGE(what, tree, answer.tree());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, bytes, answer.takeBytes());
}

class AnswerJsonTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AnswerJsonTest);
    CPPUNIT_TEST(readsTheCountsOfEveryProtocol);
    CPPUNIT_TEST(isValidAsNlohmannSays);
    CPPUNIT_TEST_SUITE_END();

public:
    void readsTheCountsOfEveryProtocol() {
        AnswerJson openai(R"({"id":"c","choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":5,"completion_tokens":8,"total_tokens":13}})");
        CPPUNIT_ASSERT(openai.valid());
        const auto usage = openai.usage();
        CPPUNIT_ASSERT(usage.reported);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{5}, usage.promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{8}, usage.completionTokens);
        for (const std::string& bytes : {
                 // Ollama's final object; a cached prompt leaves out prompt_eval_count.
                 std::string(R"({"model":"m","message":{"role":"assistant","content":"x"},"done":true,"prompt_eval_count":7,"eval_count":3})"),
                 std::string(R"({"done":true,"eval_count":3})"),
                 // Anthropic's message, with prompt-cache counts; one wrapped in message_start.
                 std::string(R"({"type":"message","usage":{"input_tokens":4,"cache_read_input_tokens":10,"cache_creation_input_tokens":2,"output_tokens":6}})"),
                 std::string(R"({"type":"message_start","message":{"id":"m","usage":{"input_tokens":9,"output_tokens":1}}})"),
                 // The Responses API's, wrapped in response.completed.
                 std::string(R"({"type":"response.completed","response":{"usage":{"input_tokens":3,"output_tokens":2}}})"),
                 // A wrapper that is not an object, a usage that is null, none at all.
                 std::string(R"({"message":"text","usage":null})"),
                 std::string(R"({"choices":[]})"),
                 // Counts that are not counts: negative, fractional, text, huge.
                 std::string(R"({"usage":{"prompt_tokens":-1,"completion_tokens":2.5}})"),
                 std::string(R"({"usage":{"prompt_tokens":"5","completion_tokens":18446744073709551615}})"),
                 // A repeated key: the last one counts, as in nlohmann's tree.
                 std::string(R"({"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2,"completion_tokens":3}})"),
                 std::string(R"({"eval_count":1,"eval_count":4})"),
                 // Not an object: valid, and no counts.
                 std::string(R"([{"usage":{"prompt_tokens":1}}])"), std::string("42"), std::string("\"usage\""),
             })
            agrees(bytes);
    }

    // Not JSON, too deep, or too big for a thread's parser: decided as nlohmann decides.
    void isValidAsNlohmannSays() {
        for (const std::string& bytes : std::vector<std::string>{
                 std::string(""), std::string("{} x"), std::string("<html>502</html>"), std::string("{\"a\":\"\xff\"}"),
                 std::string(129, '[') + std::string(129, ']'),
                 std::string(R"({"seed":123456789012345678901234567890,"usage":{"prompt_tokens":3,"completion_tokens":4}})"),
                 R"({"choices":[{"message":{"content":")" + std::string(300 * 1024, 'a') +
                     R"("}}],"usage":{"prompt_tokens":6,"completion_tokens":9}})",
             })
            agrees(bytes);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AnswerJsonTest);

} // namespace
