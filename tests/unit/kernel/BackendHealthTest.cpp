// BackendHealth: the per-backend circuit breaker (closed, open, half-open with
// one trial), in-flight counts and time-to-first-byte averages, on a test clock.
#include <cppunit/extensions/HelperMacros.h>


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
    CPPUNIT_TEST(backoffDoublesAndIsCapped);
    CPPUNIT_TEST(halfOpenAdmitsOneTrial);
    CPPUNIT_TEST(aTrialWithoutAVerdictIsGivenBack);
    CPPUNIT_TEST(aModelCircuitOpensWithoutTheBackends);
    CPPUNIT_TEST(aBackendFailureLeavesModelCircuitsAlone);
    CPPUNIT_TEST(firstByteAverageMovesTowardNewSamples);
    CPPUNIT_TEST(reportAndGaugeFollowTheCircuit);
    CPPUNIT_TEST(healthErrorsNeverSayWhereTheBackendIs);
    CPPUNIT_TEST(countsInFlight);
    CPPUNIT_TEST(unknownBackend);
    CPPUNIT_TEST_SUITE_END();

public:
    void opensAfterThreshold() {
        sluice::kernel::BackendHealth health(backends({"a", "b"}), policy(3, 60000ms, 60000ms));
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
        sluice::kernel::BackendHealth health(backends({"a"}), policy(2, 60000ms, 60000ms));
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
        sluice::kernel::BackendHealth health(backends({"a"}), policy(1, 20ms, 60000ms));
        health.recordFailure("a");
        CPPUNIT_ASSERT(!health.isAvailable("a"));
        CPPUNIT_ASSERT(health.circuit("a") == sluice::CircuitState::Open);
        _now += 19ms;
        CPPUNIT_ASSERT(!health.isAvailable("a"));
        _now += 1ms;
        CPPUNIT_ASSERT(health.isAvailable("a"));
        CPPUNIT_ASSERT(health.circuit("a") == sluice::CircuitState::HalfOpen);
    }

    void backoffDoublesAndIsCapped() {
        sluice::kernel::BackendHealth health(backends({"a"}), policy(1, 20ms, 50ms));
        health.recordFailure("a");  // 20 ms
        health.recordFailure("a");  // 40 ms
        _now += 39ms;
        CPPUNIT_ASSERT(!health.isAvailable("a"));
        _now += 1ms;
        CPPUNIT_ASSERT(health.isAvailable("a"));
        // Three more failures would double 40 ms to 320 ms; the cap keeps it at 50 ms.
        for (int i = 0; i < 3; ++i) health.recordFailure("a");
        _now += 49ms;
        CPPUNIT_ASSERT(!health.isAvailable("a"));
        _now += 1ms;
        CPPUNIT_ASSERT(health.isAvailable("a"));
    }

    void halfOpenAdmitsOneTrial() {
        sluice::kernel::BackendHealth health(backends({"a"}), policy(2, 100ms, 60000ms));
        health.recordFailure("a");
        health.recordFailure("a");
        _now += 100ms;
        CPPUNIT_ASSERT(health.isAvailable("a"));
        const auto trial = health.beginRequest("a");
        CPPUNIT_ASSERT(trial.backend);                     // this request is the trial
        CPPUNIT_ASSERT(!health.beginRequest("a").backend);  // a request routed earlier is not another
        health.endRequest("a");
        CPPUNIT_ASSERT(!health.isAvailable("a"));  // the others keep away meanwhile
        CPPUNIT_ASSERT(!health.takeTrial("a"));    // and so does the prober
        health.recordFailure("a");  // the trial failed: open again, for twice as long
        health.endRequest("a", {}, trial);
        CPPUNIT_ASSERT(health.circuit("a") == sluice::CircuitState::Open);
        _now += 199ms;
        CPPUNIT_ASSERT(!health.isAvailable("a"));
        _now += 1ms;
        CPPUNIT_ASSERT(health.takeTrial("a"));  // a probe takes this trial
        CPPUNIT_ASSERT(!health.isAvailable("a"));
        health.recordSuccess("a");
        CPPUNIT_ASSERT(health.circuit("a") == sluice::CircuitState::Closed);
        CPPUNIT_ASSERT(health.isAvailable("a"));
        CPPUNIT_ASSERT(!health.takeTrial("a"));  // closed: nothing to try
    }

    void aTrialWithoutAVerdictIsGivenBack() {
        // The trial's client hung up before any answer: neither success nor
        // failure. The next request (or probe) must be able to try.
        sluice::kernel::BackendHealth health(backends({"a"}), policy(1, 100ms, 60000ms));
        health.recordFailure("a");
        _now += 100ms;
        const auto trial = health.beginRequest("a");
        CPPUNIT_ASSERT(trial.backend);
        CPPUNIT_ASSERT(!health.isAvailable("a"));
        health.endRequest("a", {}, trial);
        CPPUNIT_ASSERT(health.isAvailable("a"));
        CPPUNIT_ASSERT(health.circuit("a") == sluice::CircuitState::HalfOpen);
        CPPUNIT_ASSERT(health.takeTrial("a"));
    }

    void aModelCircuitOpensWithoutTheBackends() {
        sluice::kernel::BackendHealth health(backends({"a"}), policy(2, 100ms, 60000ms));
        CPPUNIT_ASSERT(health.modelCircuit("a", "big") == sluice::CircuitState::Closed);
        health.recordModelFailure("a", "big", "timeout: upstream timed out");
        // Another model's success on the backend does not hide big's failures.
        health.recordSuccess("a", "small");
        health.recordModelFailure("a", "big", "timeout: upstream timed out");
        CPPUNIT_ASSERT(health.modelCircuit("a", "big") == sluice::CircuitState::Open);
        CPPUNIT_ASSERT(!health.isModelAvailable("a", "big"));
        CPPUNIT_ASSERT(health.isModelAvailable("a", "small"));
        CPPUNIT_ASSERT(health.circuit("a") == sluice::CircuitState::Closed);
        CPPUNIT_ASSERT(health.isAvailable("a"));
        const auto reports = health.modelReports("a");
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), reports.size());
        CPPUNIT_ASSERT_EQUAL(std::string("big"), reports[0].model);
        CPPUNIT_ASSERT_EQUAL(2, reports[0].consecutiveFailures);
        CPPUNIT_ASSERT_EQUAL(std::string("timeout: upstream timed out"), reports[0].lastError);

        // Half-open: one request is its trial; its success closes the model's circuit.
        _now += 100ms;
        CPPUNIT_ASSERT(health.isModelAvailable("a", "big"));
        const auto trial = health.beginRequest("a", "big");
        CPPUNIT_ASSERT(trial.model && !trial.backend);
        CPPUNIT_ASSERT(!health.isModelAvailable("a", "big"));
        health.recordSuccess("a", "big");
        health.endRequest("a", "big", trial);
        CPPUNIT_ASSERT(health.modelCircuit("a", "big") == sluice::CircuitState::Closed);
        CPPUNIT_ASSERT(health.modelReports("a").empty());
    }

    void aBackendFailureLeavesModelCircuitsAlone() {
        sluice::kernel::BackendHealth health(backends({"a"}), policy(1, 100ms, 60000ms));
        health.recordFailure("a", "connect_error: refused");
        CPPUNIT_ASSERT(health.circuit("a") == sluice::CircuitState::Open);
        CPPUNIT_ASSERT(health.modelReports("a").empty());
        CPPUNIT_ASSERT(health.isModelAvailable("a", "big"));
        // An unknown backend has no model circuits to make.
        health.recordModelFailure("nope", "big", "x");
        CPPUNIT_ASSERT(health.modelReports("nope").empty());
    }

    void firstByteAverageMovesTowardNewSamples() {
        auto p = policy(3, 1000ms, 60000ms);
        p.latencyWeight = 0.5;
        sluice::kernel::BackendHealth health(backends({"a"}), p);
        CPPUNIT_ASSERT(!health.firstByteMillis("a", "m").has_value());
        health.recordFirstByte("a", "m", 100ms);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(100.0, *health.firstByteMillis("a", "m"), 1e-9);
        health.recordFirstByte("a", "m", 300ms);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(200.0, *health.firstByteMillis("a", "m"), 1e-9);
        health.recordFirstByte("a", "other", 20ms);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(200.0, *health.firstByteMillis("a", "m"), 1e-9);  // per model
        CPPUNIT_ASSERT_DOUBLES_EQUAL(110.0, *health.report("a").firstByteMillis, 1e-9);  // and over all
    }

    void reportAndGaugeFollowTheCircuit() {
        sluice::MetricsRegistry metrics;
        sluice::kernel::BackendHealth health(backends({"a"}), policy(1, 1000ms, 60000ms), &metrics);
        auto& gauge = metrics.gauge("sluice_backend_healthy", "", {{"backend", "a"}});
        gauge.set(0);  // as a running pipeline with an open circuit left it
        // Building a health state (a reload that may still be refused) changes nothing...
        sluice::kernel::BackendHealth candidate(backends({"a"}), policy(1, 1000ms, 60000ms), &metrics);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{0}, gauge.value());
        // ...going live does.
        health.publish();
        CPPUNIT_ASSERT_EQUAL(std::int64_t{1}, gauge.value());
        health.recordFailure("a", "connect_error: refused");
        const auto report = health.report("a");
        CPPUNIT_ASSERT(report.state == sluice::CircuitState::Open);
        CPPUNIT_ASSERT_EQUAL(std::string("connect_error: refused"), report.lastError);
        CPPUNIT_ASSERT_EQUAL(1, report.consecutiveFailures);
        CPPUNIT_ASSERT(report.unhealthyUntil > std::chrono::system_clock::now());
        CPPUNIT_ASSERT_EQUAL(std::int64_t{0}, gauge.value());
        health.recordSuccess("a");
        CPPUNIT_ASSERT_EQUAL(std::int64_t{1}, gauge.value());
        CPPUNIT_ASSERT(health.report("a").state == sluice::CircuitState::Closed);
        CPPUNIT_ASSERT_EQUAL(std::string("connect_error: refused"), health.report("a").lastError);  // kept for operators
    }

    void healthErrorsNeverSayWhereTheBackendIs() {
        sluice::Backend backend;
        backend.host = "gpu.internal";
        const std::string fallback = "(withheld)";
        CPPUNIT_ASSERT_EQUAL(std::string("answered 503"), sluice::kernel::healthSafe("answered 503", backend, fallback));
        for (const char* revealing : {"connect failed: Network is unreachable: 10.1.2.3:11434",
                                      "connect failed: [fd00::1]:11434", "Host not found: gpu.internal",
                                      "see https://example.com/status", ""})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(revealing, fallback, sluice::kernel::healthSafe(revealing, backend, fallback));
        CPPUNIT_ASSERT_EQUAL(std::size_t{200}, sluice::kernel::healthSafe(std::string(500, 'x'), backend, fallback).size());
        // An address inside longer digits, and what only looks like one.
        CPPUNIT_ASSERT(sluice::kernel::revealsBackend("at 1234.5.6.789:80", backend));
        CPPUNIT_ASSERT(!sluice::kernel::revealsBackend("version 1.2.3, [not-hex], []", backend));
        // A backend's message of 200,000 characters is looked through, not
        // recursed through (a regex did once: a crash on a request's stack).
        CPPUNIT_ASSERT(!sluice::kernel::revealsBackend("[" + std::string(200000, 'a'), backend));
        CPPUNIT_ASSERT(sluice::kernel::revealsBackend(std::string(200000, '1') + ".2.3.4", backend));
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
private:
    // A policy on the test's own clock, which only moves when the test moves it.
    sluice::kernel::HealthPolicy policy(int threshold, std::chrono::milliseconds base, std::chrono::milliseconds cap) {
        sluice::kernel::HealthPolicy p;
        p.failureThreshold = threshold;
        p.baseBackoff = base;
        p.maxBackoff = cap;
        p.clock = [this] { return _now; };
        return p;
    }

    std::chrono::steady_clock::time_point _now{std::chrono::hours(1)};
};

CPPUNIT_TEST_SUITE_REGISTRATION(BackendHealthTest);

} // namespace
