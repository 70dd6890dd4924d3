// FailureLimiter: failed authentications per address over a sliding minute.
// Every call passes an explicit time, so the window is tested exactly.
#include <chrono>
#include <string>

#include <cppunit/extensions/HelperMacros.h>

#include "FailureLimiter.h"

namespace {

using namespace std::chrono_literals;
using sluice::auth::FailureLimiter;

// The start of a whole minute on the limiter's clock.
const FailureLimiter::Clock::time_point kMinute = FailureLimiter::Clock::time_point(1000min);

void fail(FailureLimiter& limiter, const std::string& address, int times, FailureLimiter::Clock::time_point at) {
    for (int i = 0; i < times; ++i) limiter.recordFailure(address, at);
}

class FailureLimiterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FailureLimiterTest);
    CPPUNIT_TEST(unknownAddressIsAllowed);
    CPPUNIT_TEST(underTheLimitIsAllowed);
    CPPUNIT_TEST(atTheLimitIsBlocked);
    CPPUNIT_TEST(retryAfterIsWhenTheWindowHasFaded);
    CPPUNIT_TEST(previousMinuteFades);
    CPPUNIT_TEST(previousMinuteCountsWithThisOne);
    CPPUNIT_TEST(twoMinutesLaterEverythingIsForgotten);
    CPPUNIT_TEST(zeroPerMinuteNeverBlocks);
    CPPUNIT_TEST(addressesAreIndependent);
    CPPUNIT_TEST(admitCountsAndForgiveTakesBack);
    CPPUNIT_TEST(ipv6CountsPerSlash64);
    CPPUNIT_TEST(aFullTableStopsTrackingNewAddresses);
    CPPUNIT_TEST_SUITE_END();

public:
    void unknownAddressIsAllowed() {
        FailureLimiter limiter(1);
        CPPUNIT_ASSERT(!limiter.blockedFor("10.0.0.1", kMinute));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), limiter.trackedAddresses());
    }

    void underTheLimitIsAllowed() {
        FailureLimiter limiter(5);
        fail(limiter, "10.0.0.1", 4, kMinute + 10s);
        CPPUNIT_ASSERT(!limiter.blockedFor("10.0.0.1", kMinute + 10s));
        CPPUNIT_ASSERT(!limiter.blockedFor("10.0.0.1", kMinute + 59s));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), limiter.trackedAddresses());
    }

    void atTheLimitIsBlocked() {
        FailureLimiter limiter(5);
        fail(limiter, "10.0.0.1", 5, kMinute + 10s);
        const auto blocked = limiter.blockedFor("10.0.0.1", kMinute + 10s);
        CPPUNIT_ASSERT(blocked.has_value());
        CPPUNIT_ASSERT(*blocked >= 1 && *blocked <= 60);
        // 50 s to the minute's end, and 1 s more for the full count to start fading.
        CPPUNIT_ASSERT_EQUAL(51, *blocked);
        // More failures keep it blocked.
        fail(limiter, "10.0.0.1", 3, kMinute + 20s);
        CPPUNIT_ASSERT(limiter.blockedFor("10.0.0.1", kMinute + 20s));
    }

    // Retry-After is the first second at which, with no further failure, the
    // sliding window is below the limit: a client that waits as told gets in.
    void retryAfterIsWhenTheWindowHasFaded() {
        FailureLimiter limiter(1);
        fail(limiter, "a", 1, kMinute);
        CPPUNIT_ASSERT_EQUAL(61, limiter.blockedFor("a", kMinute).value());
        CPPUNIT_ASSERT_EQUAL(60, limiter.blockedFor("a", kMinute + 1s).value());
        CPPUNIT_ASSERT_EQUAL(31, limiter.blockedFor("a", kMinute + 30s).value());
        CPPUNIT_ASSERT_EQUAL(2, limiter.blockedFor("a", kMinute + 59s).value());
        CPPUNIT_ASSERT_EQUAL(1, limiter.blockedFor("a", kMinute + 59999ms).value());
        CPPUNIT_ASSERT(!limiter.blockedFor("a", kMinute + 61s));
    }

    void previousMinuteFades() {
        FailureLimiter limiter(10);
        fail(limiter, "a", 10, kMinute + 30s);
        CPPUNIT_ASSERT(limiter.blockedFor("a", kMinute + 59s));
        // At the start of the next minute the previous one counts fully...
        CPPUNIT_ASSERT(limiter.blockedFor("a", kMinute + 60s));
        // ...and 3 s in it counts 10 * 0.95 = 9.5, below the limit.
        CPPUNIT_ASSERT(!limiter.blockedFor("a", kMinute + 63s));
        CPPUNIT_ASSERT(!limiter.blockedFor("a", kMinute + 90s));
    }

    void previousMinuteCountsWithThisOne() {
        FailureLimiter limiter(5);
        fail(limiter, "a", 4, kMinute + 50s);
        // 12 s into the next minute the previous 4 count as 4 * 0.8 = 3.2.
        fail(limiter, "a", 1, kMinute + 72s);
        CPPUNIT_ASSERT(!limiter.blockedFor("a", kMinute + 72s));  // 4.2
        fail(limiter, "a", 1, kMinute + 72s);
        const auto blocked = limiter.blockedFor("a", kMinute + 72s);  // 5.2
        CPPUNIT_ASSERT(blocked.has_value());
        // 4 s later: 2 + 4 * (1 - 16/60) = 4.93, below the limit.
        CPPUNIT_ASSERT_EQUAL(4, *blocked);
        CPPUNIT_ASSERT(!limiter.blockedFor("a", kMinute + 76s));
        // Later the old share has faded below the limit: 2 + 4 * 0.25 = 3.
        CPPUNIT_ASSERT(!limiter.blockedFor("a", kMinute + 105s));
    }

    void twoMinutesLaterEverythingIsForgotten() {
        FailureLimiter limiter(3);
        fail(limiter, "a", 100, kMinute + 59s);
        CPPUNIT_ASSERT(limiter.blockedFor("a", kMinute + 59s));
        // A whole quiet minute in between: nothing carries over.
        CPPUNIT_ASSERT(!limiter.blockedFor("a", kMinute + 120s));
        fail(limiter, "a", 2, kMinute + 120s);
        CPPUNIT_ASSERT(!limiter.blockedFor("a", kMinute + 120s));
        fail(limiter, "a", 1, kMinute + 121s);
        CPPUNIT_ASSERT(limiter.blockedFor("a", kMinute + 121s));
    }

    void zeroPerMinuteNeverBlocks() {
        FailureLimiter limiter(0);
        fail(limiter, "a", 10000, kMinute);
        CPPUNIT_ASSERT(!limiter.blockedFor("a", kMinute));
        CPPUNIT_ASSERT(!limiter.blockedFor("a", kMinute + 30s));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), limiter.trackedAddresses());
    }

    void addressesAreIndependent() {
        FailureLimiter limiter(2);
        fail(limiter, "10.0.0.1", 2, kMinute + 5s);
        fail(limiter, "10.0.0.2", 1, kMinute + 5s);
        CPPUNIT_ASSERT(limiter.blockedFor("10.0.0.1", kMinute + 6s));
        CPPUNIT_ASSERT(!limiter.blockedFor("10.0.0.2", kMinute + 6s));
        CPPUNIT_ASSERT(!limiter.blockedFor("10.0.0.3", kMinute + 6s));
        CPPUNIT_ASSERT(!limiter.blockedFor("::1", kMinute + 6s));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), limiter.trackedAddresses());
        fail(limiter, "10.0.0.2", 1, kMinute + 7s);
        CPPUNIT_ASSERT(limiter.blockedFor("10.0.0.2", kMinute + 7s));
    }

    // An attempt counts before its verify, so concurrent bad keys cannot all
    // pass the check; a valid key's attempt is taken back.
    void admitCountsAndForgiveTakesBack() {
        FailureLimiter limiter(3);
        for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(!limiter.admitAttempt("a", kMinute + 1s));
        CPPUNIT_ASSERT(limiter.admitAttempt("a", kMinute + 1s).has_value());
        limiter.forgive("a", kMinute + 1s);
        CPPUNIT_ASSERT(!limiter.admitAttempt("a", kMinute + 1s));
        CPPUNIT_ASSERT(limiter.admitAttempt("a", kMinute + 1s).has_value());
    }

    void ipv6CountsPerSlash64() {
        FailureLimiter limiter(2);
        limiter.recordFailure("2001:db8:1:2::1", kMinute);
        limiter.recordFailure("2001:db8:1:2:ffff::9", kMinute);
        CPPUNIT_ASSERT(limiter.blockedFor("2001:db8:1:2::77", kMinute).has_value());
        CPPUNIT_ASSERT(!limiter.blockedFor("2001:db8:1:3::1", kMinute));
        CPPUNIT_ASSERT_EQUAL(std::string("2001:db8:1:2::/64"), FailureLimiter::addressKey("2001:db8:1:2:aaaa::1"));
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.1"), FailureLimiter::addressKey("10.0.0.1"));
    }

    void aFullTableStopsTrackingNewAddresses() {
        FailureLimiter limiter(1);
        for (std::size_t i = 0; i < FailureLimiter::kMaxAddresses + 10; ++i)
            limiter.recordFailure("10." + std::to_string(i >> 16) + "." + std::to_string((i >> 8) & 255) + "." +
                                      std::to_string(i & 255),
                                  kMinute);
        CPPUNIT_ASSERT_EQUAL(FailureLimiter::kMaxAddresses, limiter.trackedAddresses());
        // Two minutes on, the idle ones are pruned and new addresses are tracked again.
        limiter.recordFailure("192.0.2.1", kMinute + 150s);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, limiter.trackedAddresses());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FailureLimiterTest);

} // namespace
