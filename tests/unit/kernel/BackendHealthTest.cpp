// BackendHealth: the per-backend circuit breaker and in-flight counts.
#include <cppunit/extensions/HelperMacros.h>

#include <thread>

#include "BackendHealth.h"

namespace {

using namespace std::chrono_literals;

sluice::BackendList backends(std::initializer_list<const char*> names) {
    sluice::BackendList list;
    for (const char* name : names) {
        auto backend = std::make_shared<sluice::Backend>();
        backend->name = name;
        list.push_back(backend);
    }
    return list;
}

class BackendHealthTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(BackendHealthTest);
    CPPUNIT_TEST(opensAfterThreshold);
    CPPUNIT_TEST(successClosesCircuit);
    CPPUNIT_TEST(backoffExpires);
    CPPUNIT_TEST(backoffIsCapped);
    CPPUNIT_TEST(countsInFlight);
    CPPUNIT_TEST(unknownBackend);
    CPPUNIT_TEST_SUITE_END();

public:
    void opensAfterThreshold() {
        sluice::kernel::BackendHealth health(backends({"a", "b"}), {3, 60000ms, 60000ms});
        CPPUNIT_ASSERT(health.isAvailable("a"));
        health.recordFailure("a");
        health.recordFailure("a");
        CPPUNIT_ASSERT(health.isAvailable("a"));
        CPPUNIT_ASSERT_EQUAL(2, health.consecutiveFailures("a"));
        health.recordFailure("a");
        CPPUNIT_ASSERT(!health.isAvailable("a"));
        CPPUNIT_ASSERT_EQUAL(3, health.consecutiveFailures("a"));
        CPPUNIT_ASSERT(health.isAvailable("b"));
    }

    void successClosesCircuit() {
        sluice::kernel::BackendHealth health(backends({"a"}), {2, 60000ms, 60000ms});
        health.recordFailure("a");
        health.recordFailure("a");
        CPPUNIT_ASSERT(!health.isAvailable("a"));
        health.recordSuccess("a");
        CPPUNIT_ASSERT(health.isAvailable("a"));
        CPPUNIT_ASSERT_EQUAL(0, health.consecutiveFailures("a"));
        // The count restarted: one failure is below the threshold again.
        health.recordFailure("a");
        CPPUNIT_ASSERT(health.isAvailable("a"));
    }

    void backoffExpires() {
        sluice::kernel::BackendHealth health(backends({"a"}), {1, 20ms, 60000ms});
        health.recordFailure("a");
        CPPUNIT_ASSERT(!health.isAvailable("a"));
        std::this_thread::sleep_for(60ms);
        CPPUNIT_ASSERT(health.isAvailable("a"));
    }

    void backoffIsCapped() {
        // Five failures past a threshold of 1 would double 20 ms to 320 ms; the cap keeps it at 20 ms.
        sluice::kernel::BackendHealth health(backends({"a"}), {1, 20ms, 20ms});
        for (int i = 0; i < 5; ++i) health.recordFailure("a");
        CPPUNIT_ASSERT(!health.isAvailable("a"));
        std::this_thread::sleep_for(60ms);
        CPPUNIT_ASSERT(health.isAvailable("a"));
    }

    void countsInFlight() {
        sluice::kernel::BackendHealth health(backends({"a", "b"}), {});
        health.beginRequest("a");
        health.beginRequest("a");
        health.beginRequest("b");
        health.endRequest("a");
        CPPUNIT_ASSERT_EQUAL(1, health.inFlight("a"));
        CPPUNIT_ASSERT_EQUAL(1, health.inFlight("b"));
        health.endRequest("a");
        CPPUNIT_ASSERT_EQUAL(0, health.inFlight("a"));
    }

    void unknownBackend() {
        sluice::kernel::BackendHealth health(backends({"a"}), {});
        health.recordFailure("ghost");
        health.recordSuccess("ghost");
        health.beginRequest("ghost");
        CPPUNIT_ASSERT(!health.isAvailable("ghost"));
        CPPUNIT_ASSERT_EQUAL(0, health.inFlight("ghost"));
        CPPUNIT_ASSERT_EQUAL(0, health.consecutiveFailures("ghost"));
        CPPUNIT_ASSERT(health.isAvailable("a"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BackendHealthTest);

} // namespace
