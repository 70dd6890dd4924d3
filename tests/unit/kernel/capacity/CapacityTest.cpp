// Capacity: slots per backend and per model, hand-off of a freed slot to
// the first waiter it suits, and the queue's order (priority class, then
// weighted fair share between tenants). No clocks: a grant is seen on the
// ticket's eventfd, read at once.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <poll.h>

#include <cppunit/extensions/HelperMacros.h>

#include "capacity/Capacity.h"

namespace {

using sluice::MetricsRegistry;
using sluice::kernel::Capacity;
using sluice::kernel::Priority;
using sluice::kernel::SlotLimits;

Capacity::Want want(const std::string& backend, const std::string& model, int total, int modelSlots = 0) {
    SlotLimits limits;
    limits.total = total;
    if (modelSlots > 0) limits.perModel.emplace_back(model, modelSlots);
    return {backend, model, limits};
}

bool granted(const Capacity::Ticket& ticket) {
    pollfd fd{ticket.fd(), POLLIN, 0};
    return ::poll(&fd, 1, 0) == 1;
}

// A queued request and who it is.
struct Waiter {
    std::string name;
    std::unique_ptr<Capacity::Ticket> ticket;
};

class CapacityTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CapacityTest);
    CPPUNIT_TEST(aBackendTakesNoMoreThanItsSlots);
    CPPUNIT_TEST(aModelTakesNoMoreThanItsOwnSlots);
    CPPUNIT_TEST(aFreedSlotGoesToTheWaiterNotToANewcomer);
    CPPUNIT_TEST(aWaiterTakesTheFirstSlotOnAnyOfItsBackends);
    CPPUNIT_TEST(aDeepBacklogTakesTurnsWithAnotherTenant);
    CPPUNIT_TEST(weightGivesAShareInProportion);
    CPPUNIT_TEST(interactiveGoesBeforeBatch);
    CPPUNIT_TEST(aFullQueueRefuses);
    CPPUNIT_TEST(aWaiterThatLeavesIsNeverGranted);
    CPPUNIT_TEST(aGrantNoOneTookGoesOn);
    CPPUNIT_TEST(aSaturatedBackendTakesOneFewerUntilItsTimeEnds);
    CPPUNIT_TEST(aBackendFullWithOurOnlyRequestGetsNoneUntilItsTimeEnds);
    CPPUNIT_TEST_SUITE_END();

public:
    void aBackendTakesNoMoreThanItsSlots() {
        MetricsRegistry metrics;
        Capacity capacity(metrics);
        auto a = capacity.tryTake(want("gpu", "m", 2));
        auto b = capacity.tryTake(want("gpu", "other", 2));
        auto c = capacity.tryTake(want("gpu", "m", 2));
        CPPUNIT_ASSERT(a.held() && b.held());
        CPPUNIT_ASSERT(!c.held());
        CPPUNIT_ASSERT_EQUAL(2, capacity.inUse("gpu"));
        a.release();
        CPPUNIT_ASSERT_EQUAL(1, capacity.inUse("gpu"));
        CPPUNIT_ASSERT(capacity.tryTake(want("gpu", "m", 2)).held());
        CPPUNIT_ASSERT(capacity.tryTake(want("cpu", "m", 1)).held());  // another backend counts apart
    }

    void aModelTakesNoMoreThanItsOwnSlots() {
        MetricsRegistry metrics;
        Capacity capacity(metrics);
        auto a = capacity.tryTake(want("gpu", "big", 4, 1));
        CPPUNIT_ASSERT(a.held());
        CPPUNIT_ASSERT(!capacity.tryTake(want("gpu", "big", 4, 1)).held());
        auto small = capacity.tryTake(want("gpu", "small", 4));
        CPPUNIT_ASSERT(small.held());  // the backend has room for other models
    }

    void aFreedSlotGoesToTheWaiterNotToANewcomer() {
        MetricsRegistry metrics;
        Capacity capacity(metrics);
        auto held = capacity.tryTake(want("gpu", "m", 1));
        auto queued = capacity.enqueue({want("gpu", "m", 1)}, {"t", Priority::Interactive, 1}, 10);
        CPPUNIT_ASSERT(queued.ticket && !queued.now && !queued.full);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, capacity.depth());
        CPPUNIT_ASSERT(!granted(*queued.ticket));
        held.release();
        CPPUNIT_ASSERT(granted(*queued.ticket));
        CPPUNIT_ASSERT(!capacity.tryTake(want("gpu", "m", 1)).held());  // it went to the waiter
        auto lease = capacity.leave(*queued.ticket);
        CPPUNIT_ASSERT(lease && lease->lease.held());
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, capacity.depth());
        CPPUNIT_ASSERT_EQUAL(1, capacity.inUse("gpu"));
    }

    void aWaiterTakesTheFirstSlotOnAnyOfItsBackends() {
        MetricsRegistry metrics;
        Capacity capacity(metrics);
        auto one = capacity.tryTake(want("one", "m", 1));
        auto two = capacity.tryTake(want("two", "m", 1));
        auto queued = capacity.enqueue({want("one", "m", 1), want("two", "m", 1)}, {"t", Priority::Interactive, 1}, 10);
        two.release();
        auto lease = capacity.leave(*queued.ticket);
        CPPUNIT_ASSERT(lease);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, lease->want);
        CPPUNIT_ASSERT_EQUAL(1, capacity.inUse("two"));
    }

    void aDeepBacklogTakesTurnsWithAnotherTenant() {
        // batch queues five, then interactive one: interactive's is served
        // second, not sixth.
        CPPUNIT_ASSERT_EQUAL(std::string("batch ours batch batch batch batch"),
                             serveOrder({{"batch", 1}, {"batch", 1}, {"batch", 1}, {"batch", 1}, {"batch", 1}, {"ours", 1}}));
    }

    void weightGivesAShareInProportion() {
        // Weight 2 against 1: two of heavy's for each of light's.
        CPPUNIT_ASSERT_EQUAL(std::string("heavy light heavy heavy light heavy light light"),
                             serveOrder({{"heavy", 2}, {"heavy", 2}, {"heavy", 2}, {"heavy", 2},
                                         {"light", 1}, {"light", 1}, {"light", 1}, {"light", 1}}));
    }

    void interactiveGoesBeforeBatch() {
        MetricsRegistry metrics;
        Capacity capacity(metrics);
        auto held = capacity.tryTake(want("gpu", "m", 1));
        auto batch = capacity.enqueue({want("gpu", "m", 1)}, {"a", Priority::Batch, 1}, 10);
        auto interactive = capacity.enqueue({want("gpu", "m", 1)}, {"b", Priority::Interactive, 1}, 10);
        held.release();
        CPPUNIT_ASSERT(granted(*interactive.ticket));
        CPPUNIT_ASSERT(!granted(*batch.ticket));
    }

    void aFullQueueRefuses() {
        MetricsRegistry metrics;
        Capacity capacity(metrics);
        auto held = capacity.tryTake(want("gpu", "m", 1));
        auto first = capacity.enqueue({want("gpu", "m", 1)}, {"t", Priority::Interactive, 1}, 1);
        auto second = capacity.enqueue({want("gpu", "m", 1)}, {"t", Priority::Interactive, 1}, 1);
        CPPUNIT_ASSERT(first.ticket && !first.full);
        CPPUNIT_ASSERT(second.full && !second.ticket && !second.now);
    }

    void aWaiterThatLeavesIsNeverGranted() {
        MetricsRegistry metrics;
        Capacity capacity(metrics);
        auto held = capacity.tryTake(want("gpu", "m", 1));
        auto gone = capacity.enqueue({want("gpu", "m", 1)}, {"t", Priority::Interactive, 1}, 10);
        auto next = capacity.enqueue({want("gpu", "m", 1)}, {"u", Priority::Interactive, 1}, 10);
        CPPUNIT_ASSERT(!capacity.leave(*gone.ticket));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, capacity.depth());
        held.release();
        CPPUNIT_ASSERT(!granted(*gone.ticket));
        CPPUNIT_ASSERT(granted(*next.ticket));
    }

    void aGrantNoOneTookGoesOn() {
        MetricsRegistry metrics;
        Capacity capacity(metrics);
        auto held = capacity.tryTake(want("gpu", "m", 1));
        auto first = capacity.enqueue({want("gpu", "m", 1)}, {"t", Priority::Interactive, 1}, 10);
        auto second = capacity.enqueue({want("gpu", "m", 1)}, {"u", Priority::Interactive, 1}, 10);
        held.release();
        CPPUNIT_ASSERT(granted(*first.ticket));
        first.ticket.reset();  // its request ended before it took the slot
        CPPUNIT_ASSERT(granted(*second.ticket));
        CPPUNIT_ASSERT_EQUAL(1, capacity.inUse("gpu"));
    }

    void aSaturatedBackendTakesOneFewerUntilItsTimeEnds() {
        MetricsRegistry metrics;
        Capacity capacity(metrics);
        std::vector<Capacity::Lease> held;
        for (int i = 0; i < 3; ++i) held.push_back(capacity.tryTake(want("gpu", "m", 4)));
        capacity.saturated("gpu", std::chrono::steady_clock::now() + std::chrono::hours(1));
        CPPUNIT_ASSERT(!capacity.tryTake(want("gpu", "m", 4)).held());  // its slots say 4; it said 3 is too many
        held.pop_back();
        CPPUNIT_ASSERT(!capacity.tryTake(want("gpu", "m", 4)).held());  // the refused one's place is gone too
        held.pop_back();
        CPPUNIT_ASSERT(capacity.tryTake(want("gpu", "m", 4)).held());
        capacity.saturated("gpu", std::chrono::steady_clock::now() - std::chrono::seconds(1));  // over
        auto second = capacity.tryTake(want("gpu", "m", 4));
        auto third = capacity.tryTake(want("gpu", "m", 4));
        CPPUNIT_ASSERT(second.held() && third.held());
    }

    void aBackendFullWithOurOnlyRequestGetsNoneUntilItsTimeEnds() {
        MetricsRegistry metrics;
        Capacity capacity(metrics);
        auto only = capacity.tryTake(want("gpu", "m", 4));
        capacity.saturated("gpu", std::chrono::steady_clock::now() + std::chrono::hours(1));
        only.release();
        CPPUNIT_ASSERT(!capacity.tryTake(want("gpu", "m", 4)).held());  // not straight back at it
        CPPUNIT_ASSERT(capacity.tryTake(want("cpu", "m", 4)).held());   // other backends are not touched
    }

private:
    // Queues one request per (tenant, weight) in that order behind one
    // held slot, then frees slots one at a time: the tenants in the order served.
    static std::string serveOrder(const std::vector<std::pair<std::string, int>>& arrivals) {
        MetricsRegistry metrics;
        Capacity capacity(metrics);
        auto held = capacity.tryTake(want("gpu", "m", 1));
        std::vector<Waiter> waiters;
        for (const auto& [tenant, weight] : arrivals)
            waiters.push_back({tenant, capacity.enqueue({want("gpu", "m", 1)}, {tenant, Priority::Interactive, weight}, 100).ticket});
        std::string order;
        held.release();
        for (std::size_t served = 0; served < waiters.size(); ++served) {
            Waiter* next = nullptr;
            for (auto& waiter : waiters)
                if (waiter.ticket && granted(*waiter.ticket)) next = &waiter;
            if (!next) return order + " (none granted)";
            order += (order.empty() ? "" : " ") + next->name;
            auto lease = capacity.leave(*next->ticket);
            next->ticket.reset();
            // its generation ends: the slot goes to the next waiter
        }
        return order;
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CapacityTest);

} // namespace
