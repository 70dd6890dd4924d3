// sluice::estimateTokens and estimatePromptTokens: four code points a token,
// rounded up, over the text a model reads, in either protocol's shape.

#include <cppunit/extensions/HelperMacros.h>

#include "sluice/TokenEstimate.h"

namespace {

class TokenEstimateTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TokenEstimateTest);
    CPPUNIT_TEST(fourCodePointsAToken);
    CPPUNIT_TEST(promptTextInEitherShape);
    CPPUNIT_TEST_SUITE_END();

public:
    void fourCodePointsAToken() {
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, sluice::estimateTokens(""));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, sluice::estimateTokens("abc"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, sluice::estimateTokens("abcd"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, sluice::estimateTokens("abcde"));
        // "héé" is 5 bytes, 3 code points.
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, sluice::estimateTokens("h\xc3\xa9\xc3\xa9"));
    }

    void promptTextInEitherShape() {
        const auto chat = nlohmann::json::parse(R"({"model":"m","messages":[
            {"role":"system","content":"abcd"},
            {"role":"user","content":[{"type":"text","text":"efgh"},{"type":"image_url","image_url":{"url":"data:xxxxxxxx"}}]}]})");
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, sluice::estimatePromptTokens(chat));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, sluice::estimatePromptTokens(nlohmann::json::parse(R"({"prompt":"abcdefgh","system":"ijkl"})")));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, sluice::estimatePromptTokens(nlohmann::json::parse(R"({"input":["abcd","efgh"]})")));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, sluice::estimatePromptTokens(nlohmann::json::parse(R"({"model":"m","messages":{}})")));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TokenEstimateTest);

} // namespace
