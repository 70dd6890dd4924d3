// Fiber: a body that runs to its end, one that parks and is run on by
// another thread with its stack intact, exceptions thrown and caught on the
// fiber's own stack, and many fibers parked at once; a parked fiber's
// stack given back only when asked (trimParked), and a burst's pooled
// stacks unmapped only after a round without them (releaseSpareStacks).
#include <cppunit/extensions/HelperMacros.h>

#include <alloca.h>
#include <sys/mman.h>
#include <unistd.h>

#include <exception>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/Fiber.h"

namespace {

using sluice::kernel::Fiber;

// pthread_self() is declared const: called twice in one function, around a
// park, the compiler may keep the first answer. That is the hazard Fiber.h
// warns of, and why this asks through a call it cannot see into.
[[gnu::noinline]] std::thread::id threadNow() {
    asm volatile("" ::: "memory");
    return std::this_thread::get_id();
}

class FiberTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FiberTest);
    CPPUNIT_TEST(aBodyRunsToItsEnd);
    CPPUNIT_TEST(aParkedFiberGoesOnOnAnotherThreadWithItsStack);
    CPPUNIT_TEST(anExceptionIsCaughtOnTheFibersOwnStack);
    CPPUNIT_TEST(aParkInsideACatchBlockKeepsItsException);
    CPPUNIT_TEST(manyFibersParkAtOnce);
    CPPUNIT_TEST(parkOutsideAFiberIsRefused);
    CPPUNIT_TEST(aParkedStackIsTrimmedOnlyWhenAsked);
    CPPUNIT_TEST(spareStacksGoAfterARoundUnused);
    CPPUNIT_TEST_SUITE_END();

public:
    void aBodyRunsToItsEnd() {
        int ran = 0;
        Fiber* inside = nullptr;
        Fiber fiber([&] {
            ++ran;
            inside = Fiber::current();
        });
        CPPUNIT_ASSERT(fiber.run());
        CPPUNIT_ASSERT_EQUAL(1, ran);
        CPPUNIT_ASSERT(inside == &fiber);
        CPPUNIT_ASSERT(Fiber::current() == nullptr);
    }

    void aParkedFiberGoesOnOnAnotherThreadWithItsStack() {
        std::string trail;
        std::thread::id before, after;
        auto* fiber = new Fiber([&] {
            std::string local = "kept";  // lives on the fiber's stack across the park
            before = threadNow();
            trail += "a";
            Fiber::park([&](Fiber&) { trail += "then"; });
            after = threadNow();
            trail += "b:" + local;
        });
        CPPUNIT_ASSERT(!fiber->run());
        CPPUNIT_ASSERT_EQUAL(std::string("athen"), trail);
        bool finished = false;
        std::thread([&] { finished = fiber->run(); }).join();
        CPPUNIT_ASSERT(finished);
        CPPUNIT_ASSERT_EQUAL(std::string("athenb:kept"), trail);
        CPPUNIT_ASSERT(before != after);
        delete fiber;
    }

    void anExceptionIsCaughtOnTheFibersOwnStack() {
        std::string caught;
        Fiber fiber([&] {
            try {
                Fiber::park([](Fiber&) {});
                throw std::runtime_error("thrown after a park");
            } catch (const std::exception& e) {
                caught = e.what();
            }
        });
        CPPUNIT_ASSERT(!fiber.run());
        CPPUNIT_ASSERT(fiber.run());
        CPPUNIT_ASSERT_EQUAL(std::string("thrown after a park"), caught);

        // One that escapes the body ends the fiber, not the process.
        Fiber escaping([] { throw std::runtime_error("escaped"); });
        CPPUNIT_ASSERT(escaping.run());
    }

    void aParkInsideACatchBlockKeepsItsException() {
        // Fiber A parks inside its handler; fiber B throws and parks inside
        // its own on the same thread; A goes on on another thread, rethrows
        // and ends its handler; then B. The runtime's list of exceptions
        // being handled is the thread's: without each fiber's own, A's
        // `throw;` found B's exception (or none, on the other thread).
        std::string seenByA, seenByB;
        const auto body = [](const char* what, std::string& seen) {
            return [what, &seen] {
                try {
                    try {
                        throw std::runtime_error(what);
                    } catch (const std::exception&) {
                        Fiber::park([](Fiber&) {});
                        CPPUNIT_ASSERT_EQUAL(0, std::uncaught_exceptions());  // being handled, not in flight
                        throw;
                    }
                } catch (const std::exception& e) {
                    seen = e.what();
                }
            };
        };
        auto a = std::make_unique<Fiber>(body("a's", seenByA));
        auto b = std::make_unique<Fiber>(body("b's", seenByB));
        CPPUNIT_ASSERT(!a->run());
        CPPUNIT_ASSERT(!b->run());
        bool aFinished = false;
        std::thread([&] { aFinished = a->run(); }).join();
        CPPUNIT_ASSERT(aFinished);
        CPPUNIT_ASSERT(b->run());
        CPPUNIT_ASSERT_EQUAL(std::string("a's"), seenByA);
        CPPUNIT_ASSERT_EQUAL(std::string("b's"), seenByB);
        CPPUNIT_ASSERT_EQUAL(0, std::uncaught_exceptions());
    }

    void manyFibersParkAtOnce() {
        constexpr int kFibers = 2000;
        std::vector<std::unique_ptr<Fiber>> fibers;
        std::vector<int> values(kFibers, 0);
        for (int i = 0; i < kFibers; ++i) {
            fibers.push_back(std::make_unique<Fiber>([&values, i] {
                int mine = i * 3;  // on the stack, read back after the park
                Fiber::park([](Fiber&) {});
                values[static_cast<std::size_t>(i)] = mine + 1;
            }));
            CPPUNIT_ASSERT(!fibers.back()->run());
        }
        // Run on from two threads, in reverse order.
        auto half = std::async(std::launch::async, [&] {
            for (int i = kFibers - 1; i >= kFibers / 2; --i) CPPUNIT_ASSERT(fibers[static_cast<std::size_t>(i)]->run());
        });
        for (int i = kFibers / 2 - 1; i >= 0; --i) CPPUNIT_ASSERT(fibers[static_cast<std::size_t>(i)]->run());
        half.get();
        for (int i = 0; i < kFibers; ++i) CPPUNIT_ASSERT_EQUAL(i * 3 + 1, values[static_cast<std::size_t>(i)]);
    }

    void parkOutsideAFiberIsRefused() { CPPUNIT_ASSERT_THROW(Fiber::park([](Fiber&) {}), std::logic_error); }

    void aParkedStackIsTrimmedOnlyWhenAsked() {
        std::uintptr_t deep = 0;
        Fiber fiber([&deep] {
            deep = touchStackBelow(256 * 1024);
            Fiber::park([](Fiber&) {});
        });
        CPPUNIT_ASSERT(!fiber.run());
        // A park keeps its stack as it is: a short one (a connect) would pay
        // for the trim and the page faults after for nothing.
        CPPUNIT_ASSERT(resident(deep));
        fiber.trimParked();
        CPPUNIT_ASSERT(!resident(deep));
        CPPUNIT_ASSERT(fiber.run());
    }

    void spareStacksGoAfterARoundUnused() {
        constexpr std::size_t kBurst = 300;
        {
            std::vector<std::unique_ptr<Fiber>> burst;
            for (std::size_t i = 0; i < kBurst; ++i) {
                burst.push_back(std::make_unique<Fiber>([] { Fiber::park([](Fiber&) {}); }));
                CPPUNIT_ASSERT(!burst.back()->run());
            }
            for (auto& fiber : burst) CPPUNIT_ASSERT(fiber->run());
        }  // every stack back in the pool
        // The round the burst was in: its stacks were taken, none goes.
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, Fiber::releaseSpareStacks());
        // A round in which no fiber took one: all go but the few kept.
        const auto released = Fiber::releaseSpareStacks();
        CPPUNIT_ASSERT(released >= kBurst - 64);
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, Fiber::releaseSpareStacks());
    }

private:
    // Writes a byte in each page of `bytes` of stack below the caller's
    // frame, so they are resident; returns the lowest byte written.
    // (As a number: the address of a dead local, returned, is null to GCC.)
    [[gnu::noinline]] static std::uintptr_t touchStackBelow(std::size_t bytes) {
        auto* area = static_cast<volatile char*>(alloca(bytes));
        for (std::size_t at = 0; at < bytes; at += 4096) area[at] = 1;
        return reinterpret_cast<std::uintptr_t>(area);
    }

    // Whether the page holding `address` is in memory.
    static bool resident(std::uintptr_t address) {
        const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
        unsigned char in = 0;
        auto* start = reinterpret_cast<void*>(address & ~(page - 1));
        CPPUNIT_ASSERT_EQUAL(0, ::mincore(start, page, &in));
        return (in & 1) != 0;
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FiberTest);

} // namespace
