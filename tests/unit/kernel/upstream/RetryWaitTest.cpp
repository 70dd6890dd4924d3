// RetryWait: a backend's Retry-After read against a fixed clock, the wait
// before a retry (Retry-After within retry.max_wait_ms, else the jittered
// doubling back-off), and a pause that ends when the client hangs up.
#include <cppunit/extensions/HelperMacros.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "upstream/RetryWait.h"

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using sluice::RetryPolicy;
using sluice::kernel::parseRetryAfter;
using sluice::kernel::PauseEnd;
using sluice::kernel::pauseBeforeRetry;
using sluice::kernel::retryWait;

// Sat, 05 Dec 2026 03:00:00 GMT: the clock every Retry-After is read against.
const std::chrono::system_clock::time_point kNow =
    std::chrono::sys_days{std::chrono::year{2026} / std::chrono::December / 5} + 3h;

std::int64_t ms(const std::optional<milliseconds>& wait) {
    CPPUNIT_ASSERT(wait.has_value());
    return static_cast<std::int64_t>(wait->count());
}

RetryPolicy policy(milliseconds backoff, milliseconds maxWait) {
    RetryPolicy retry;
    retry.attempts = 3;
    retry.backoff = backoff;
    retry.maxWait = maxWait;
    return retry;
}

// Both ends of a connected local stream socket, closed when done with.
struct SocketPair {
    int fds[2] = {-1, -1};
    SocketPair() { CPPUNIT_ASSERT_EQUAL(0, ::socketpair(AF_UNIX, SOCK_STREAM, 0, fds)); }
    ~SocketPair() {
        for (int fd : fds)
            if (fd >= 0) ::close(fd);
    }
    void closePeer() {
        ::close(fds[1]);
        fds[1] = -1;
    }
};

class RetryWaitTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RetryWaitTest);
    CPPUNIT_TEST(delaySecondsAreAWait);
    CPPUNIT_TEST(spacesAroundTheValueAreIgnored);
    CPPUNIT_TEST(httpDateIsAWaitFromNow);
    CPPUNIT_TEST(httpDateInThePastIsNoWait);
    CPPUNIT_TEST(garbageIsNoRetryAfter);
    CPPUNIT_TEST(hugeNumberIsADay);
    CPPUNIT_TEST(retryAfterWithinMaxWaitIsTheWait);
    CPPUNIT_TEST(retryAfterLongerThanMaxWaitFailsOver);
    CPPUNIT_TEST(withoutRetryAfterTheBackoffDoublesWithJitter);
    CPPUNIT_TEST(unreadableRetryAfterFallsBackToTheBackoff);
    CPPUNIT_TEST(backoffIsCappedAtMaxWait);
    CPPUNIT_TEST(pauseEndsWhenTheClientHangsUp);
    CPPUNIT_TEST(pauseWaitsWhenThereIsNoClient);
    CPPUNIT_TEST(aClientThatIsStillThereIsWaitedFor);
    CPPUNIT_TEST_SUITE_END();

public:
    void delaySecondsAreAWait() {
        CPPUNIT_ASSERT_EQUAL(std::int64_t{120000}, ms(parseRetryAfter("120", kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{1000}, ms(parseRetryAfter("1", kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{0}, ms(parseRetryAfter("0", kNow)));
        // Six digits are still read as they are.
        CPPUNIT_ASSERT_EQUAL(std::int64_t{86400000}, ms(parseRetryAfter("86400", kNow)));
    }

    void spacesAroundTheValueAreIgnored() {
        CPPUNIT_ASSERT_EQUAL(std::int64_t{7000}, ms(parseRetryAfter(" 7 ", kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{30000}, ms(parseRetryAfter("   30", kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{30000},
                             ms(parseRetryAfter("  Sat, 05 Dec 2026 03:00:30 GMT  ", kNow)));
    }

    void httpDateIsAWaitFromNow() {
        CPPUNIT_ASSERT_EQUAL(std::int64_t{30000}, ms(parseRetryAfter("Sat, 05 Dec 2026 03:00:30 GMT", kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{3600000}, ms(parseRetryAfter("Sat, 05 Dec 2026 04:00:00 GMT", kNow)));
        // Read against `now`, not the wall clock: half a second before the date.
        CPPUNIT_ASSERT_EQUAL(std::int64_t{500}, ms(parseRetryAfter("Sat, 05 Dec 2026 03:00:01 GMT", kNow + 500ms)));
    }

    void httpDateInThePastIsNoWait() {
        CPPUNIT_ASSERT_EQUAL(std::int64_t{0}, ms(parseRetryAfter("Sat, 05 Dec 2026 02:59:00 GMT", kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{0}, ms(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{0}, ms(parseRetryAfter("Sat, 05 Dec 2026 03:00:00 GMT", kNow)));
    }

    void garbageIsNoRetryAfter() {
        for (const char* value : {"", "   ", "1.5", "5s", "0x10", "2026-12-05T03:00:30Z"})
            CPPUNIT_ASSERT_MESSAGE(std::string("'") + value + "'", !parseRetryAfter(value, kNow));
        // Poco's parser alone would read these as a date in year 0 (a wait of 0).
        for (const char* value : {"soon", "later", "abc", "-5", "tomorrow at noon", "Sat, 05 Dec"})
            CPPUNIT_ASSERT_MESSAGE(std::string("'") + value + "'", !parseRetryAfter(value, kNow));
    }

    void hugeNumberIsADay() {
        const std::int64_t day = 24LL * 3600 * 1000;
        CPPUNIT_ASSERT_EQUAL(day, ms(parseRetryAfter("99999999999999999999999999", kNow)));
        CPPUNIT_ASSERT_EQUAL(day, ms(parseRetryAfter("1000000", kNow)));
    }

    void retryAfterWithinMaxWaitIsTheWait() {
        const auto retry = policy(100ms, 5000ms);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{2000}, ms(retryWait(retry, 1, "2", 0.5, kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{5000}, ms(retryWait(retry, 1, "5", 0.5, kNow)));  // exactly max_wait_ms
        CPPUNIT_ASSERT_EQUAL(std::int64_t{0}, ms(retryWait(retry, 3, "0", 0.999, kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{4000}, ms(retryWait(retry, 2, "Sat, 05 Dec 2026 03:00:04 GMT", 0.0, kNow)));
        // A date already past: retry at once, not the back-off.
        CPPUNIT_ASSERT_EQUAL(std::int64_t{0}, ms(retryWait(retry, 2, "Sat, 05 Dec 2026 02:00:00 GMT", 0.999, kNow)));
    }

    void retryAfterLongerThanMaxWaitFailsOver() {
        const auto retry = policy(100ms, 5000ms);
        CPPUNIT_ASSERT(!retryWait(retry, 1, "6", 0.0, kNow));
        CPPUNIT_ASSERT(!retryWait(retry, 1, "3600", 0.0, kNow));
        CPPUNIT_ASSERT(!retryWait(retry, 1, "Sat, 05 Dec 2026 03:00:06 GMT", 0.0, kNow));
        CPPUNIT_ASSERT(!retryWait(retry, 1, "99999999999", 0.0, kNow));
        // The same value under a longer bound is waited for.
        CPPUNIT_ASSERT_EQUAL(std::int64_t{6000}, ms(retryWait(policy(100ms, 6000ms), 1, "6", 0.0, kNow)));
    }

    void withoutRetryAfterTheBackoffDoublesWithJitter() {
        const auto retry = policy(100ms, 60000ms);
        // b = backoff * 2^(retry-1); the wait is b/2 + unit * b/2, in [b/2, b).
        for (int n = 1; n <= 5; ++n) {
            const std::int64_t b = 100LL << (n - 1);
            const auto low = ms(retryWait(retry, n, "", 0.0, kNow));
            const auto high = ms(retryWait(retry, n, "", 0.999, kNow));
            CPPUNIT_ASSERT_EQUAL_MESSAGE("retry " + std::to_string(n), b / 2, low);
            CPPUNIT_ASSERT_MESSAGE("retry " + std::to_string(n), high >= b / 2 && high < b);
            CPPUNIT_ASSERT_MESSAGE("retry " + std::to_string(n), high > low);
        }
        CPPUNIT_ASSERT_EQUAL(std::int64_t{99}, ms(retryWait(retry, 1, "", 0.999, kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{75}, ms(retryWait(retry, 1, "", 0.5, kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{399}, ms(retryWait(retry, 3, "", 0.999, kNow)));
    }

    void unreadableRetryAfterFallsBackToTheBackoff() {
        const auto retry = policy(100ms, 5000ms);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{50}, ms(retryWait(retry, 1, "1.5", 0.0, kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{200}, ms(retryWait(retry, 3, "5s", 0.0, kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{50}, ms(retryWait(retry, 1, "soon", 0.0, kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{100}, ms(retryWait(retry, 2, "   ", 0.0, kNow)));
    }

    void backoffIsCappedAtMaxWait() {
        const auto retry = policy(1000ms, 5000ms);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{4000}, ms(retryWait(retry, 4, "", 0.0, kNow)));  // b = 8000
        CPPUNIT_ASSERT_EQUAL(std::int64_t{5000}, ms(retryWait(retry, 4, "", 0.999, kNow)));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{5000}, ms(retryWait(retry, 10, "", 0.0, kNow)));
        // Far past any sensible count the shift is bounded, and still capped.
        CPPUNIT_ASSERT_EQUAL(std::int64_t{5000}, ms(retryWait(retry, 1000, "", 0.999, kNow)));
    }

    void pauseEndsWhenTheClientHangsUp() {
        SocketPair client;
        client.closePeer();
        // Bounded well above what it takes: a hang-up already seen ends the pause at once.
        CPPUNIT_ASSERT(PauseEnd::ClientGone == pauseBeforeRetry(client.fds[0], 10000ms));
    }

    void pauseWaitsWhenThereIsNoClient() {
        CPPUNIT_ASSERT(PauseEnd::Waited == pauseBeforeRetry(-1, 0ms));
        CPPUNIT_ASSERT(PauseEnd::Waited == pauseBeforeRetry(-1, 1ms));
    }

    void aClientThatIsStillThereIsWaitedFor() {
        SocketPair client;
        CPPUNIT_ASSERT(PauseEnd::Waited == pauseBeforeRetry(client.fds[0], 1ms));
        // Bytes from the client (a pipelined request) are not a hang-up.
        CPPUNIT_ASSERT_EQUAL(ssize_t{1}, ::write(client.fds[1], "x", 1));
        CPPUNIT_ASSERT(PauseEnd::Waited == pauseBeforeRetry(client.fds[0], 1ms));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RetryWaitTest);

} // namespace
