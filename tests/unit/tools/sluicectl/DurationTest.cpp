// parseDuration: --since as an operator types it (30s, 15m, 1h, 7d), and a
// clear refusal of anything else.
#include <stdexcept>
#include <string>

#include <cppunit/extensions/HelperMacros.h>

#include "Duration.h"

namespace {

using sluicectl::parseDuration;
using namespace std::chrono_literals;

bool refused(const std::string& text) {
    try {
        parseDuration(text);
        return false;
    } catch (const std::invalid_argument& e) {
        return std::string(e.what()).find("'" + text + "'") != std::string::npos;
    }
}

class DurationTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DurationTest);
    CPPUNIT_TEST(everyUnit);
    CPPUNIT_TEST(refusesWhatIsNotADuration);
    CPPUNIT_TEST(refusesAbsurdLengths);
    CPPUNIT_TEST_SUITE_END();

public:
    void everyUnit() {
        CPPUNIT_ASSERT(parseDuration("30s") == 30s);
        CPPUNIT_ASSERT(parseDuration("15m") == 15min);
        CPPUNIT_ASSERT(parseDuration("1h") == 1h);
        CPPUNIT_ASSERT(parseDuration("7d") == 7 * 24h);
        CPPUNIT_ASSERT(parseDuration("365d") == 365 * 24h);
    }

    void refusesWhatIsNotADuration() {
        for (const std::string text : {"", "s", "30", "1w", "-1h", "1.5h", "1 h", "0s", "h1", "1hh", "1H"})
            CPPUNIT_ASSERT_MESSAGE(text, refused(text));
    }

    void refusesAbsurdLengths() {
        CPPUNIT_ASSERT(parseDuration("36500d") == 36500 * 24h);
        CPPUNIT_ASSERT(refused("36501d"));
        CPPUNIT_ASSERT(refused("99999999999999999999999s"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DurationTest);

} // namespace
