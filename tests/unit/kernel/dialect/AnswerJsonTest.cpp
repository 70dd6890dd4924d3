// AnswerJson: a whole answer checked by simdjson agrees with nlohmann's
// parser (parseJson) on what is JSON, and with readUsage over the parsed
// tree on the counts, whichever parser read it.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "dialect/AnswerJson.h"
#include "dialect/Usage.h"
#include "sluice/Json.h"

namespace {

using sluice::Usage;
using sluice::kernel::AnswerJson;

std::string nested(std::size_t depth, const std::string& inside) {
    return std::string(depth, '[') + inside + std::string(depth, ']');
}

// Each answer: AnswerJson says what parseJson and readUsage say.
void agrees(const std::string& bytes) {
    const auto tree = sluice::parseJson(bytes);
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
    CPPUNIT_TEST(agreesOnWhatIsJson);
    CPPUNIT_TEST(agreesOnHowDeep);
    CPPUNIT_TEST(takesWhatItsParserRefusesTheSlowWay);
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

    void agreesOnWhatIsJson() {
        for (const std::string& bytes : {
                 std::string(""), std::string(" "), std::string("{"), std::string("{} x"), std::string("{}{}"),
                 std::string("<html>502</html>"), std::string(R"({"a":1,})"), std::string(R"({"a":tru})"),
                 std::string(" {\"a\" : [1, 2.5e3, null, true, false, \"\\u00e9\\n\"]}\n"),
                 std::string("{\"a\":\"\xff\"}"),                        // not UTF-8
                 std::string("\xef\xbb\xbf{\"usage\":{\"prompt_tokens\":2}}"),  // a byte-order mark
                 std::string("{\"a\":\"\\ud800\"}"),                     // a lone surrogate
                 std::string(R"({"a":1e999})"), std::string(R"({"a":01})"), std::string(R"({"a":"tab	in"})"),
             })
            agrees(bytes);
    }

    // kMaxJsonDepth levels pass, one more does not, arrays or objects.
    void agreesOnHowDeep() {
        const auto limit = sluice::kMaxJsonDepth;
        for (const auto depth : {limit - 1, limit, limit + 1}) {
            agrees(nested(depth, ""));
            agrees(nested(depth - 1, R"({"usage":{"prompt_tokens":1}})"));
            agrees(nested(depth - 1, "{}"));
        }
        agrees(R"({"usage":)" + nested(limit - 2, "") + "}");
        agrees(R"({"usage":)" + nested(limit - 1, "") + "}");
        agrees(R"({"usage":)" + nested(limit, "") + "}");
    }

    // Numbers past 64 bits (simdjson refuses them) and answers past the
    // thread parser's buffers are still read, as nlohmann reads them.
    void takesWhatItsParserRefusesTheSlowWay() {
        agrees(R"({"seed":123456789012345678901234567890,"usage":{"prompt_tokens":3,"completion_tokens":4}})");
        std::string big = R"({"choices":[{"message":{"content":")" + std::string(300 * 1024, 'a') +
                          R"("}}],"usage":{"prompt_tokens":6,"completion_tokens":9}})";
        agrees(big);
        big.pop_back();  // cut off
        agrees(big);
        // After a big one, a small one on the same thread still reads right.
        agrees(R"({"usage":{"prompt_tokens":1,"completion_tokens":2}})");
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AnswerJsonTest);

} // namespace
