// sluice::parseJson: the depth bound holds for any text, and brackets inside
// strings do not count. Read by simdjson or by nlohmann's parser, a value
// comes out as nlohmann's parser alone makes it (the reference below), and
// parseJsonFields gives that value's named fields.

#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "sluice/Json.h"
#include "TypedJson.h"

namespace {

using nlohmann::json;
using sluice::test::typedJson;

// What parseJson gave before simdjson read for it: nlohmann's parser under
// the depth bound, on text without a NUL (which nlohmann takes for the end).
json reference(const std::string& text) {
    if (sluice::jsonDepth(text) > sluice::kMaxJsonDepth || text.find('\0') != std::string::npos)
        return json(json::value_t::discarded);
    return json::parse(text, nullptr, false);
}

std::string nested(std::size_t depth, const std::string& inside) {
    return std::string(depth, '[') + inside + std::string(depth, ']');
}

void agrees(const std::string& text) {
    const std::string what = "text: " + text.substr(0, 100);
    const auto expected = reference(text);
    const auto tree = sluice::parseJson(text);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, expected.is_discarded(), tree.is_discarded());
    if (!expected.is_discarded()) {
        CPPUNIT_ASSERT_EQUAL_MESSAGE(what, expected, tree);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(what, typedJson(expected), typedJson(tree));
    }
    const auto fields = sluice::parseJsonFields(text, {"usage", "model"});
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, expected.is_discarded(), fields.is_discarded());
    if (expected.is_discarded()) return;
    if (!expected.is_object()) return CPPUNIT_ASSERT_MESSAGE(what, fields.is_null());
    json wanted = json::object();
    for (const auto* key : {"usage", "model"})
        if (expected.contains(key)) wanted[key] = expected[key];
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, wanted, fields);
}

class JsonTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(JsonTest);
    CPPUNIT_TEST(countsNestingOutsideStrings);
    CPPUNIT_TEST(refusesPastTheBoundWithoutParsing);
    CPPUNIT_TEST(parsesWithinTheBound);
    CPPUNIT_TEST(invalidIsInvalid);
    CPPUNIT_TEST(bothParsersAgreeOnEveryValue);
    CPPUNIT_TEST(bothParsersAgreeOnHowDeep);
    CPPUNIT_TEST(bigValuesAndBigNumbersAreReadTheSlowWay);
    CPPUNIT_TEST_SUITE_END();

public:
    void countsNestingOutsideStrings() {
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, sluice::jsonDepth("42"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, sluice::jsonDepth(R"({"a":[1,2],"b":{}})"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, sluice::jsonDepth(R"({"a":"[[[{{{"})"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, sluice::jsonDepth(R"({"a":"\"[[[\\"})"));
        // An escaped backslash before a quote ends the string: the bracket after it counts.
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, sluice::jsonDepth(R"(["\\",[]])"));
    }

    void refusesPastTheBoundWithoutParsing() {
        const std::string deep = std::string(100000, '[') + std::string(100000, ']');
        nlohmann::json out;
        CPPUNIT_ASSERT(sluice::parseJson(deep, out) == sluice::JsonParse::TooDeep);
        CPPUNIT_ASSERT(out.is_discarded());
        // The count stops at the bound: no walk over the rest.
        CPPUNIT_ASSERT_EQUAL(sluice::kMaxJsonDepth + 1, sluice::jsonDepth(deep));
        const std::string justOver = std::string(129, '[') + std::string(129, ']');
        CPPUNIT_ASSERT(sluice::parseJson(justOver, out) == sluice::JsonParse::TooDeep);
    }

    void parsesWithinTheBound() {
        const std::string atBound = std::string(128, '[') + std::string(128, ']');
        nlohmann::json out;
        CPPUNIT_ASSERT(sluice::parseJson(atBound, out) == sluice::JsonParse::Ok);
        CPPUNIT_ASSERT(out.is_array());
        CPPUNIT_ASSERT_EQUAL(std::string("x"), sluice::parseJson(R"({"a":"x"})")["a"].get<std::string>());
    }

    void invalidIsInvalid() {
        // nlohmann's parser alone stops at a NUL and takes what came before.
        CPPUNIT_ASSERT(!json::parse(std::string("{\"model\":\"a\"}\0x", 15), nullptr, false).is_discarded());
        CPPUNIT_ASSERT(sluice::parseJson(std::string("{\"model\":\"a\"}\0{\"model\":\"b\"}", 27)).is_discarded());
        CPPUNIT_ASSERT(sluice::parseJson(std::string("{\"model\":\"a\"}\0", 14)).is_discarded());
        nlohmann::json out;
        CPPUNIT_ASSERT(sluice::parseJson("{\"a\":", out) == sluice::JsonParse::Invalid);
        CPPUNIT_ASSERT(out.is_discarded());
        CPPUNIT_ASSERT(sluice::parseJson("").is_discarded());
    }

    void bothParsersAgreeOnEveryValue() {
        for (const std::string& text : std::vector<std::string>{
                 R"({"id":"c","choices":[{"message":{"content":"hi"},"finish_reason":null}],"usage":{"prompt_tokens":5}})",
                 R"({"model":"m","model":"n","usage":1,"usage":{"a":[]}})",  // repeated keys: the last counts
                 R"([{"usage":{"prompt_tokens":1}}])", "42", "-7", "2.5", "\"text\"", "null", "true", "[]", "{}",
                 R"({"a":-1,"b":0,"c":9223372036854775807,"d":9223372036854775808,"e":18446744073709551615})",
                 R"({"a":-0,"b":[-0],"c":-0.0,"d":"2024-05-01","e":-0e1})",  // nlohmann makes -0 signed
                 R"({"f":1.0,"g":-0.0,"h":1e300,"i":5E-324,"j":0.1})",
                 " {\"a\" : [1, 2.5e3, null, true, false, \"\\u00e9\\n\\ud83d\\ude00\"]}\n",
                 "", " ", "{", "{} x", "{}{}", "<html>502</html>", R"({"a":1,})", R"({"a":tru})",
                 "{\"a\":\"\xff\"}",                                  // not UTF-8
                 "\xef\xbb\xbf{\"usage\":{\"prompt_tokens\":2}}",   // a byte-order mark
                 "{\"a\":\"\\ud800\"}",                              // a lone surrogate
                 R"({"a":1e999})", R"({"a":01})", "{\"a\":\"tab\tin\"}", "{\"a\":\"ctl\x01in\"}",
             })
            agrees(text);
    }

    // kMaxJsonDepth levels pass, one more does not, arrays or objects.
    void bothParsersAgreeOnHowDeep() {
        const auto limit = sluice::kMaxJsonDepth;
        for (const auto depth : {limit - 1, limit, limit + 1}) {
            agrees(nested(depth, ""));
            agrees(nested(depth - 1, R"({"usage":{"prompt_tokens":1}})"));
            agrees(nested(depth - 1, "{}"));
            agrees(R"({"usage":)" + nested(depth - 1, "") + "}");
        }
    }

    // Numbers past 64 bits (simdjson refuses them) and values past a
    // thread parser's buffers are still read, as nlohmann reads them.
    void bigValuesAndBigNumbersAreReadTheSlowWay() {
        agrees(R"({"seed":123456789012345678901234567890,"usage":{"prompt_tokens":3}})");
        for (const std::size_t size : {std::size_t{100} * 1024, std::size_t{2} * 1024 * 1024}) {
            std::string big = R"({"model":"m","text":")" + std::string(size, 'a') + R"(","usage":{"prompt_tokens":6}})";
            agrees(big);
            big.pop_back();  // cut off
            agrees(big);
        }
        // After big ones, a small one on the same thread still reads right.
        agrees(R"({"usage":{"prompt_tokens":1,"completion_tokens":2}})");
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(JsonTest);

} // namespace
