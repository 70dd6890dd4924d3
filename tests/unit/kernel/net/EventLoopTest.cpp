// EventLoop: readiness, timers in order, cancelled timers, work posted from
// other threads, and a watcher that goes in the middle of a round. No test
// here waits on a clock: timers are set in the past or far in the future.
#include <cppunit/extensions/HelperMacros.h>

#include <future>
#include <thread>
#include <utility>
#include <vector>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/EventLoop.h"

namespace {

using sluice::kernel::EventLoop;
using Clock = EventLoop::Clock;

struct Pair {
    int fd[2]{-1, -1};
    Pair() { ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd); }
    ~Pair() {
        for (int each : fd)
            if (each >= 0) ::close(each);
    }
};

// Counts its wake-ups, reads what is there, and stops the loop after `stopAfter`.
class Reader final : public EventLoop::Watcher {
public:
    Reader(EventLoop& loop, int fd, int stopAfter) : _loop(loop), _fd(fd), _stopAfter(stopAfter) {}
    void onReady(std::uint32_t) override {
        char buffer[64];
        const auto n = ::read(_fd, buffer, sizeof buffer);
        if (n > 0) received.append(buffer, static_cast<std::size_t>(n));
        if (++wakeups == _stopAfter) _loop.stop();
    }
    std::string received;
    int wakeups = 0;

private:
    EventLoop& _loop;
    int _fd;
    int _stopAfter;
};

class EventLoopTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(EventLoopTest);
    CPPUNIT_TEST(aReadableDescriptorCallsItsWatcher);
    CPPUNIT_TEST(timersFireInTheirOrder);
    CPPUNIT_TEST(aCancelledTimerNeverFires);
    CPPUNIT_TEST(workPostedFromAnotherThreadRunsOnTheLoop);
    CPPUNIT_TEST(aWatcherUnwatchedInARoundGetsNoMoreOfItsEvents);
    CPPUNIT_TEST(aWatcherForgottenAndClosedInARoundGetsNoMoreOfItsEvents);
    CPPUNIT_TEST(workPostedBeforeStopStillRuns);
    CPPUNIT_TEST_SUITE_END();

public:
    void aReadableDescriptorCallsItsWatcher() {
        EventLoop loop;
        Pair pair;
        Reader reader(loop, pair.fd[0], 1);
        loop.watch(pair.fd[0], EPOLLIN, reader);
        CPPUNIT_ASSERT_EQUAL(ssize_t(5), ::write(pair.fd[1], "hello", 5));
        loop.run();
        CPPUNIT_ASSERT_EQUAL(std::string("hello"), reader.received);
    }

    void timersFireInTheirOrder() {
        EventLoop loop;
        std::vector<int> fired;
        const auto now = Clock::now();
        loop.at(now - std::chrono::milliseconds(1), [&] { fired.push_back(2); });
        loop.at(now - std::chrono::milliseconds(3), [&] { fired.push_back(1); });
        loop.at(now, [&] {
            fired.push_back(3);
            loop.stop();
        });
        loop.run();
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), fired.size());
        CPPUNIT_ASSERT_EQUAL(1, fired[0]);
        CPPUNIT_ASSERT_EQUAL(2, fired[1]);
        CPPUNIT_ASSERT_EQUAL(3, fired[2]);
    }

    void aCancelledTimerNeverFires() {
        EventLoop loop;
        bool cancelledFired = false;
        const auto past = Clock::now() - std::chrono::seconds(1);
        const auto doomed = loop.at(past, [&] { cancelledFired = true; });
        loop.at(past, [&] { loop.stop(); });
        loop.cancel(doomed);
        loop.cancel(doomed);  // twice: ignored
        const auto far = loop.at(Clock::now() + std::chrono::hours(1), [&] { cancelledFired = true; });
        loop.run();
        loop.cancel(far);
        CPPUNIT_ASSERT(!cancelledFired);
    }

    void workPostedFromAnotherThreadRunsOnTheLoop() {
        EventLoop loop;
        std::vector<int> order;
        bool onLoop = true;
        std::thread poster([&] {
            for (int i = 0; i < 100; ++i) loop.post([&, i] {
                order.push_back(i);
                onLoop = onLoop && loop.onLoopThread();
            });
            loop.post([&] { loop.stop(); });
        });
        loop.run();
        poster.join();
        CPPUNIT_ASSERT_EQUAL(std::size_t(100), order.size());
        for (int i = 0; i < 100; ++i) CPPUNIT_ASSERT_EQUAL(i, order[static_cast<std::size_t>(i)]);
        CPPUNIT_ASSERT(onLoop);
    }

    void aWatcherUnwatchedInARoundGetsNoMoreOfItsEvents() {
        callsWhenEachRemovesTheOther([](EventLoop& loop, int& fd, EventLoop::Watcher& watcher) { loop.unwatch(fd, watcher); });
    }

    void aWatcherForgottenAndClosedInARoundGetsNoMoreOfItsEvents() {
        // The close takes the descriptor out of the set, forget() the
        // round's events still listed for it.
        callsWhenEachRemovesTheOther([](EventLoop& loop, int& fd, EventLoop::Watcher& watcher) {
            loop.forget(watcher);
            ::close(std::exchange(fd, -1));
        });
    }

    void workPostedBeforeStopStillRuns() {
        EventLoop loop;
        int ran = 0;
        loop.post([&] {
            loop.stop();
            loop.post([&] { ++ran; });  // posted by posted work, after the stop
        });
        loop.run();
        CPPUNIT_ASSERT_EQUAL(1, ran);
    }

private:
    // Two descriptors ready in the same round; whichever runs first removes
    // the other (`remove`), which must then not be called.
    template <class Remove>
    static void callsWhenEachRemovesTheOther(Remove remove) {
        EventLoop loop;
        Pair a, b;
        struct Remover final : EventLoop::Watcher {
            EventLoop* loop = nullptr;
            Remove* remove = nullptr;
            int ownFd = -1;
            int* otherFd = nullptr;
            Remover* other = nullptr;
            int calls = 0;
            void onReady(std::uint32_t) override {
                ++calls;
                char byte;
                [[maybe_unused]] const auto n = ::read(ownFd, &byte, 1);  // else it is ready again next round
                (*remove)(*loop, *otherFd, *other);
                loop->post([this] { loop->stop(); });
            }
        } first, second;
        first.loop = second.loop = &loop;
        first.remove = second.remove = &remove;
        first.other = &second;
        first.ownFd = a.fd[0];
        first.otherFd = &b.fd[0];
        second.ownFd = b.fd[0];
        second.other = &first;
        second.otherFd = &a.fd[0];
        loop.watch(a.fd[0], EPOLLIN, first);
        loop.watch(b.fd[0], EPOLLIN, second);
        CPPUNIT_ASSERT_EQUAL(ssize_t(1), ::write(a.fd[1], "x", 1));
        CPPUNIT_ASSERT_EQUAL(ssize_t(1), ::write(b.fd[1], "x", 1));
        loop.run();
        CPPUNIT_ASSERT_EQUAL(1, first.calls + second.calls);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(EventLoopTest);

} // namespace
