// chooseRequestId: a sane id the client sent is kept; one made here is 32
// hex digits that start with the time it was made, so ids (and the audit
// rows keyed by them) sort by time.
#include <chrono>
#include <cstdint>
#include <set>
#include <string>

#include <cppunit/extensions/HelperMacros.h>

#include "front/FrontHandler.h"

namespace {

using sluice::kernel::chooseRequestId;

std::uint64_t nowMs() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

class RequestIdTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RequestIdTest);
    CPPUNIT_TEST(aSaneOfferedIdIsKept);
    CPPUNIT_TEST(anInsaneOfferedIdIsReplaced);
    CPPUNIT_TEST(aNewIdStartsWithItsMillisecond);
    CPPUNIT_TEST(newIdsInOneMillisecondDiffer);
    CPPUNIT_TEST_SUITE_END();

public:
    void aSaneOfferedIdIsKept() {
        const std::string offered = "trace-42:a.b_C";
        CPPUNIT_ASSERT_EQUAL(offered, chooseRequestId(&offered));
    }

    void anInsaneOfferedIdIsReplaced() {
        const std::string offered = "has space";
        const auto id = chooseRequestId(&offered);
        CPPUNIT_ASSERT(id != offered);
        CPPUNIT_ASSERT_EQUAL(std::size_t{32}, id.size());
    }

    void aNewIdStartsWithItsMillisecond() {
        const auto before = nowMs();
        const auto id = chooseRequestId(nullptr);
        const auto after = nowMs();
        CPPUNIT_ASSERT_EQUAL(std::size_t{32}, id.size());
        CPPUNIT_ASSERT_EQUAL(std::string::npos, id.find_first_not_of("0123456789abcdef"));
        const auto made = std::stoull(id.substr(0, 12), nullptr, 16);
        CPPUNIT_ASSERT(before <= made && made <= after);
    }

    void newIdsInOneMillisecondDiffer() {
        std::set<std::string> ids;
        for (int i = 0; i < 10000; ++i) ids.insert(chooseRequestId(nullptr));
        CPPUNIT_ASSERT_EQUAL(std::size_t{10000}, ids.size());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RequestIdTest);

} // namespace
