#pragma once
// A function run on a stack of its own, which can leave its thread part-way
// (park) and be run on later, on any thread.
//
// Why: a request's code is synchronous (the stages, failover, the audit
// record after the answer), and a stream's long rest is relayed by an I/O
// thread (front/IoThreads). While that relay runs, the request's stack waits
// here, holding a little memory and no thread, where a worker used to sleep
// through the whole stream. docs/architecture.md, "Decision: threading
// model", says why stackful and not C++20 coroutines.
//
// A parked fiber may be run on by another thread: code on its stack must not
// hold a lock or a thread's own state across a park (the one park site,
// Connection::relay in front/IoThreads.cpp, carries the request's log id),
// and one function must not ask for thread-local things on both sides of a
// park: pthread_self() and errno's address are declared const, and the
// compiler may keep the first answer (FiberTest shows it does).
// Stacks come from a pool (8 MiB of address space each, as a thread's, a
// guard page below; only the pages touched cost memory) and what lies below a parked fiber's
// stack pointer is given back to the system (trimParked). A burst's stacks stay pooled
// until a few seconds pass without them (releaseSpareStacks).
// The switch is Boost.Context's (fcontext): a few registers saved and
// restored, no system call, where ucontext's swapcontext also saved and set
// the signal mask, a system call every way, three per request served.
// Thread: run() on one thread at a time; park() from inside the fiber only.

#include <cstddef>
#include <functional>

namespace sluice::kernel {

class Fiber {
public:
    explicit Fiber(std::function<void()> body);
    // Only once its body has returned, or before it first ran.
    ~Fiber();
    Fiber(const Fiber&) = delete;
    Fiber& operator=(const Fiber&) = delete;

    // Runs the fiber on the calling thread until its body returns (true) or
    // it parks (false). When it parked, the park's `then` has been called by
    // the time this returns, and another thread may be running it already:
    // the caller must not touch the fiber after a false.
    bool run();

    // Leaves the running fiber. `then` is called with it on the thread that
    // ran it, once the fiber is off that thread: `then` hands the fiber to
    // whoever will run() it again. Returns when that happens.
    static void park(std::function<void(Fiber&)> then);
    // While parked (and not running anywhere): gives the system back the
    // pages of its stack below where it parked. For a park that lasts (a
    // stream's relay, a slow backend): one that ends within moments would
    // pay the madvise, its TLB flush and the page faults after, for nothing.
    void trimParked() const;
    // The fiber running on this thread, or null.
    static Fiber* current();
    // Gives the system back the pooled stacks no fiber took since the last
    // call, but a few; returns how many. Called every few seconds (front/
    // IoThreads): a burst's stacks serve the next burst, then go.
    static std::size_t releaseSpareStacks();

private:
    // The fiber's first code, on its own stack; `caller` is the context of
    // the thread that ran it. Never returns: it switches back itself.
    [[noreturn]] void start(void* caller);
    // Switches from the fiber back to the thread that ran it.
    void leave();
    // Gives the system back the pages of the stack below the current depth.
    void trimBelow(const void* depth) const;

    std::function<void()> _body;
    std::function<void(Fiber&)> _then;  // set while parking
    void* _stack = nullptr;              // the usable stack's lowest address (the guard page lies below)
    void* _context = nullptr;            // the fiber's (an fcontext_t), while it is not running
    void* _caller = nullptr;             // the thread's that runs it, while it runs
    const void* _parkedAt = nullptr;     // the frame park() left from, while parked
    bool _finished = false;
    // The C++ runtime's exception state while the fiber is off its thread (Fiber.cpp).
    void* _caughtExceptions = nullptr;
    unsigned int _uncaughtExceptions = 0;
    // AddressSanitizer's view of the switches (unused without it).
    void* _fakeStack = nullptr;
    const void* _callerBottom = nullptr;
    std::size_t _callerSize = 0;
};

} // namespace sluice::kernel
