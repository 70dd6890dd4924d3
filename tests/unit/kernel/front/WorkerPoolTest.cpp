// WorkerPool: runs what it is given on at most maxThreads threads, queues up
// to maxQueued beyond them, and says no past that. Work is held on a latch,
// never on a clock.
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <future>

#include "front/WorkerPool.h"

namespace {

using sluice::kernel::WorkerPool;

class WorkerPoolTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(WorkerPoolTest);
    CPPUNIT_TEST(everythingSubmittedRuns);
    CPPUNIT_TEST(pastItsThreadsAndQueueItSaysNo);
    CPPUNIT_TEST_SUITE_END();

public:
    void everythingSubmittedRuns() {
        std::atomic<int> ran{0};
        {
            WorkerPool pool(4, 1000, std::chrono::seconds(60));
            for (int i = 0; i < 500; ++i) CPPUNIT_ASSERT(pool.submit([&] { ++ran; }));
            CPPUNIT_ASSERT(pool.threads() <= 4);
        }  // the destructor runs what is queued
        CPPUNIT_ASSERT_EQUAL(500, ran.load());
    }

    void pastItsThreadsAndQueueItSaysNo() {
        std::promise<void> release;
        auto held = release.get_future().share();
        std::atomic<int> started{0};
        std::atomic<int> ran{0};
        {
            WorkerPool pool(2, 3, std::chrono::seconds(60));
            auto blocker = [&, held] {
                ++started;
                held.wait();
                ++ran;
            };
            CPPUNIT_ASSERT(pool.submit(blocker));
            CPPUNIT_ASSERT(pool.submit(blocker));
            while (started.load() < 2) std::this_thread::yield();  // both threads are busy
            for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(pool.submit(blocker));  // the queue
            CPPUNIT_ASSERT(!pool.submit(blocker));
            CPPUNIT_ASSERT_EQUAL(std::size_t(2), pool.threads());
            CPPUNIT_ASSERT_EQUAL(std::size_t(2), pool.busy());
            release.set_value();
        }
        CPPUNIT_ASSERT_EQUAL(5, ran.load());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(WorkerPoolTest);

} // namespace
