// The in-process counter store's window arithmetic, on an injected clock:
// the sliding request log (no burst at a window edge), token buckets,
// leases, all-or-nothing admission across scopes, and a clock that steps back.
#include <cppunit/extensions/HelperMacros.h>

#include "LocalCounterStore.h"

namespace {

using namespace std::chrono_literals;
using sluice::ratelimit::Admission;
using sluice::ratelimit::LocalCounterStore;
using sluice::ratelimit::ScopeLimits;
using sluice::ratelimit::Ticket;

class LocalCounterStoreTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LocalCounterStoreTest);
    CPPUNIT_TEST(requestsUpToTheLimitThenRefusedWithRetryAfter);
    CPPUNIT_TEST(noBurstAtTheWindowEdge);
    CPPUNIT_TEST(aSlotFreesExactlyAMinuteLater);
    CPPUNIT_TEST(tokensChargedAfterTheAnswerCloseTheBudget);
    CPPUNIT_TEST(reservationsCountAtAdmissionAndSettleToTheUsage);
    CPPUNIT_TEST(leasesBoundConcurrency);
    CPPUNIT_TEST(aRefusalCountsNothingInAnyScope);
    CPPUNIT_TEST(theStricterScopeDecides);
    CPPUNIT_TEST(aClockSteppingBackNeverUndercounts);
    CPPUNIT_TEST(unlimitedScopesAreNotCounted);
    CPPUNIT_TEST(idleScopesAreForgotten);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { _now = LocalCounterStore::Clock::time_point(1000h); }

    void requestsUpToTheLimitThenRefusedWithRetryAfter() {
        auto store = make();
        for (int i = 0; i < 3; ++i) {
            const auto admission = store.admit(ticket({{"key:a", 3, 0, 0}}));
            CPPUNIT_ASSERT(admission.result == Admission::Result::Admitted);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(2 - i), admission.views[0].requestsRemaining);
            _now += 10s;
        }
        const auto refused = store.admit(ticket({{"key:a", 3, 0, 0}}));
        CPPUNIT_ASSERT(refused.result == Admission::Result::Refused);
        CPPUNIT_ASSERT_EQUAL(std::string("requests"), refused.refusedBy);
        // The first was admitted 30 s ago: it ages out in 30 s.
        CPPUNIT_ASSERT_EQUAL(std::int64_t(30000), refused.retryAfter.count());
    }

    // 10 per minute, all spent in the last second of a "minute": the next
    // second is still within 60 s of them, so nothing more is admitted.
    void noBurstAtTheWindowEdge() {
        auto store = make();
        _now += 59s;
        for (int i = 0; i < 10; ++i) CPPUNIT_ASSERT(admitted(store, {{"key:a", 10, 0, 0}}));
        _now += 1s;
        CPPUNIT_ASSERT(!admitted(store, {{"key:a", 10, 0, 0}}));
        _now += 58s;
        CPPUNIT_ASSERT(!admitted(store, {{"key:a", 10, 0, 0}}));
        // Over any 60 s span: at most 10.
        int more = 0;
        for (int i = 0; i < 30; ++i) more += admitted(store, {{"key:a", 10, 0, 0}}) ? 1 : 0;
        CPPUNIT_ASSERT_EQUAL(0, more);
    }

    void aSlotFreesExactlyAMinuteLater() {
        auto store = make();
        CPPUNIT_ASSERT(admitted(store, {{"key:a", 1, 0, 0}}));
        _now += 59999ms;
        CPPUNIT_ASSERT(!admitted(store, {{"key:a", 1, 0, 0}}));
        _now += 1ms;
        CPPUNIT_ASSERT(admitted(store, {{"key:a", 1, 0, 0}}));
    }

    void tokensChargedAfterTheAnswerCloseTheBudget() {
        auto store = make();
        const auto first = ticket({{"key:a", 0, 100, 0}});
        CPPUNIT_ASSERT(store.admit(first).result == Admission::Result::Admitted);
        store.release(first, 60);
        const auto second = ticket({{"key:a", 0, 100, 0}});
        const auto admission = store.admit(second);
        CPPUNIT_ASSERT(admission.result == Admission::Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(40), admission.views[0].tokensRemaining);
        store.release(second, 50);
        _now += 10s;
        const auto refused = store.admit(ticket({{"key:a", 0, 100, 0}}));
        CPPUNIT_ASSERT(refused.result == Admission::Result::Refused);
        CPPUNIT_ASSERT_EQUAL(std::string("tokens"), refused.refusedBy);
        // Both charges were in one second, 10 s ago: they leave in 50 s.
        CPPUNIT_ASSERT_EQUAL(std::int64_t(50000), refused.retryAfter.count());
        _now += 50s;
        CPPUNIT_ASSERT(admitted(store, {{"key:a", 0, 100, 0}}));
    }

    // Twenty requests at once against a budget for five: each reserves 20 of
    // 100 at admission, so the sixth is refused while the first five run;
    // their settled totals are what the backend reported, not the estimate.
    void reservationsCountAtAdmissionAndSettleToTheUsage() {
        auto store = make();
        std::vector<Ticket> running;
        int refused = 0;
        for (int i = 0; i < 20; ++i) {
            auto request = ticket({{"key:a", 0, 100, 0}});
            request.reservedTokens = 20;
            const auto admission = store.admit(request);
            if (admission.result != Admission::Result::Admitted) {
                ++refused;
                CPPUNIT_ASSERT_EQUAL(std::string("tokens"), admission.refusedBy);
                continue;
            }
            request.reservedSecond = admission.reservedSecond;
            running.push_back(request);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{5}, running.size());
        CPPUNIT_ASSERT_EQUAL(15, refused);
        // Each answer spent 7 tokens; one ends in a later second than its reservation.
        for (std::size_t i = 0; i < running.size(); ++i) {
            if (i == 4) _now += 3s;
            store.release(running[i], 7);
        }
        const auto next = store.admit(ticket({{"key:a", 0, 100, 0}}));
        CPPUNIT_ASSERT(next.result == Admission::Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100 - 35), next.views[0].tokensRemaining);
    }

    void leasesBoundConcurrency() {
        auto store = make();
        const auto one = ticket({{"key:a", 0, 0, 2}});
        const auto two = ticket({{"key:a", 0, 0, 2}});
        CPPUNIT_ASSERT(store.admit(one).result == Admission::Result::Admitted);
        CPPUNIT_ASSERT(store.admit(two).result == Admission::Result::Admitted);
        const auto third = store.admit(ticket({{"key:a", 0, 0, 2}}));
        CPPUNIT_ASSERT(third.result == Admission::Result::Refused);
        CPPUNIT_ASSERT_EQUAL(std::string("concurrency"), third.refusedBy);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), store.leasesHeld("key:a"));
        store.release(one, 0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.leasesHeld("key:a"));
        CPPUNIT_ASSERT(admitted(store, {{"key:a", 0, 0, 2}}));
        store.release(two, 0);
    }

    void aRefusalCountsNothingInAnyScope() {
        auto store = make();
        for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(admitted(store, {{"tenant:t", 3, 0, 0}, {"key:a", 10, 0, 5}}));
        const auto refused = store.admit(ticket({{"tenant:t", 3, 0, 0}, {"key:a", 10, 0, 5}}));
        CPPUNIT_ASSERT(refused.result == Admission::Result::Refused);
        CPPUNIT_ASSERT_EQUAL(std::string("tenant:t"), refused.refusedScope);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(7), refused.views[1].requestsRemaining);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), store.leasesHeld("key:a"));  // the three admitted ones only
    }

    void theStricterScopeDecides() {
        auto store = make();
        CPPUNIT_ASSERT(admitted(store, {{"tenant:t", 100, 0, 0}, {"key:a", 1, 0, 0}}));
        const auto refused = store.admit(ticket({{"tenant:t", 100, 0, 0}, {"key:a", 1, 0, 0}}));
        CPPUNIT_ASSERT(refused.result == Admission::Result::Refused);
        CPPUNIT_ASSERT_EQUAL(std::string("key:a"), refused.refusedScope);
        // Another key of the same tenant is not held back by key:a's limit.
        CPPUNIT_ASSERT(admitted(store, {{"tenant:t", 100, 0, 0}, {"key:b", 1, 0, 0}}));
    }

    void aClockSteppingBackNeverUndercounts() {
        auto store = make();
        for (int i = 0; i < 2; ++i) CPPUNIT_ASSERT(admitted(store, {{"key:a", 2, 0, 0}}));
        _now -= 30s;
        CPPUNIT_ASSERT(!admitted(store, {{"key:a", 2, 0, 0}}));
        _now += 60s;  // 30 s after the admissions by the original clock
        CPPUNIT_ASSERT(!admitted(store, {{"key:a", 2, 0, 0}}));
        _now += 30s;
        CPPUNIT_ASSERT(admitted(store, {{"key:a", 2, 0, 0}}));
    }

    void unlimitedScopesAreNotCounted() {
        auto store = make();
        for (int i = 0; i < 1000; ++i) CPPUNIT_ASSERT(admitted(store, {{"key:a", 0, 0, 0}}));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.leasesHeld("key:a"));
    }

    void idleScopesAreForgotten() {
        auto store = make();
        const auto held = ticket({{"key:a", 5, 0, 1}});
        CPPUNIT_ASSERT(store.admit(held).result == Admission::Result::Admitted);
        const auto idle = ticket({{"key:b", 5, 0, 1}});
        CPPUNIT_ASSERT(store.admit(idle).result == Admission::Result::Admitted);
        store.release(idle, 0);
        _now += 3min;
        store.release(ticket({{"key:c", 5, 0, 1}}), 0);  // any release sweeps
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.scopesTracked());  // key:a still holds a lease
        store.release(held, 0);
    }

private:
    LocalCounterStore make() {
        return LocalCounterStore([this] { return _now; });
    }
    Ticket ticket(std::vector<ScopeLimits> scopes) { return {std::move(scopes), "lease-" + std::to_string(++_leases)}; }
    bool admitted(LocalCounterStore& store, std::vector<ScopeLimits> scopes) {
        return store.admit(ticket(std::move(scopes))).result == Admission::Result::Admitted;
    }

    LocalCounterStore::Clock::time_point _now;
    int _leases = 0;
};

CPPUNIT_TEST_SUITE_REGISTRATION(LocalCounterStoreTest);

} // namespace
