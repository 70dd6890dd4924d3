// sluice::parseJson: the depth bound holds for any text, and brackets inside
// strings do not count.

#include <cppunit/extensions/HelperMacros.h>

#include "sluice/Json.h"

namespace {

class JsonTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(JsonTest);
    CPPUNIT_TEST(countsNestingOutsideStrings);
    CPPUNIT_TEST(refusesPastTheBoundWithoutParsing);
    CPPUNIT_TEST(parsesWithinTheBound);
    CPPUNIT_TEST(invalidIsInvalid);
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
        nlohmann::json out;
        CPPUNIT_ASSERT(sluice::parseJson("{\"a\":", out) == sluice::JsonParse::Invalid);
        CPPUNIT_ASSERT(out.is_discarded());
        CPPUNIT_ASSERT(sluice::parseJson("").is_discarded());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(JsonTest);

} // namespace
