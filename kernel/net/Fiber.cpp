#include "Fiber.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

#include <cxxabi.h>
#include <boost/context/detail/fcontext.hpp>
#include <sys/mman.h>
#include <unistd.h>

#include <Poco/Logger.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define SLUICE_ASAN_FIBERS 1
#endif

namespace sluice::kernel {

namespace context = boost::context::detail;

namespace {

// Address space, not memory: only the pages a request touches are backed.
// As much as a thread's stack: a request runs plugins' code, whose depth
// the kernel does not know, and 8 MiB of reserved address space costs
// nothing resident (10,000 parked requests: 80 GiB of the 128 TiB).
constexpr std::size_t kStackSize = 8 * 1024 * 1024;
// Stacks a burst leaves in the pool are kept for the next one, up to this
// many; releaseSpareStacks() gives back those a while went by without.
// Unmapping each as its fiber ended cost a munmap, with its TLB shootdown,
// and the next fiber's mmap, mprotect and first-touch page faults: a
// quarter of the CPU of 2,000 concurrent streams (perf).
constexpr std::size_t kPooledStacks = 16384;
// What the pool keeps however long it goes unused: a quiet gateway's share.
constexpr std::size_t kKeptStacks = 64;

std::size_t pageSize() {
    static const auto size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    return size;
}

// The pool of stacks: a fiber per request would otherwise cost an mmap, an
// mprotect and a munmap, and fresh pages to fault in, every time.
class Stacks {
public:
    void* take() {
        {
            std::lock_guard lock(_mutex);
            if (!_free.empty()) {
                void* stack = _free.back();
                _free.pop_back();
                _lowWater = std::min(_lowWater, _free.size());
                return stack;
            }
            _lowWater = 0;
        }
        const auto guard = pageSize();
        void* area = ::mmap(nullptr, kStackSize + guard, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        if (area == MAP_FAILED) throw std::bad_alloc();
        // A stack that overflows hits this page and crashes, rather than
        // writing over whatever lies below.
        ::mprotect(area, guard, PROT_NONE);
        return static_cast<char*>(area) + guard;
    }

    void give(void* stack) {
        {
            std::lock_guard lock(_mutex);
            if (_free.size() < kPooledStacks) {
                _free.push_back(stack);
                return;
            }
        }
        unmap(stack);
    }

    // Unmaps the stacks that stayed in the pool all through the time since
    // the last call (its low-water mark), beyond kKeptStacks. The oldest
    // go: they lie at the bottom of the pool (take() and give() use its top).
    std::size_t releaseSpare() {
        std::vector<void*> spare;
        {
            std::lock_guard lock(_mutex);
            const auto unused = std::min(_lowWater, _free.size());
            if (unused > kKeptStacks) {
                const auto count = static_cast<std::ptrdiff_t>(unused - kKeptStacks);
                spare.assign(_free.begin(), _free.begin() + count);
                _free.erase(_free.begin(), _free.begin() + count);
            }
            _lowWater = _free.size();
        }
        for (void* stack : spare) unmap(stack);
        return spare.size();
    }

private:
    static void unmap(void* stack) {
        const auto guard = pageSize();
        ::munmap(static_cast<char*>(stack) - guard, kStackSize + guard);
    }

    std::mutex _mutex;
    std::vector<void*> _free;    // guarded by _mutex; the most recently given on top
    std::size_t _lowWater = 0;   // the fewest in _free since the last releaseSpare(); guarded by _mutex
};

Stacks& stacks() {
    static auto* pool = new Stacks;  // never destroyed: fibers may end during static destruction
    return *pool;
}

thread_local Fiber* running = nullptr;

// The C++ runtime's exception state is the thread's (the Itanium ABI's
// __cxa_eh_globals: the exceptions being handled, and how many are in
// flight). A fiber that parks inside a catch block and goes on on another
// thread, or while another fiber throws on this one, would end its handler
// against the wrong list. So each fiber has its own, swapped in and out
// with the fiber as folly's fibers do; the layout is the ABI's, fixed.
struct ExceptionState {
    void* caughtExceptions;
    unsigned int uncaughtExceptions;
};
ExceptionState& threadExceptionState() {
    return *reinterpret_cast<ExceptionState*>(abi::__cxa_get_globals());
}

} // namespace

Fiber::Fiber(std::function<void()> body) : _body(std::move(body)), _stack(stacks().take()) {
    // The stack grows down from its top. The first switch hands the entry
    // the fiber (a captureless lambda: a plain function that may call start).
    _context = context::make_fcontext(static_cast<char*>(_stack) + kStackSize, kStackSize,
                                      [](context::transfer_t from) { static_cast<Fiber*>(from.data)->start(from.fctx); });
}

Fiber::~Fiber() { stacks().give(_stack); }

Fiber* Fiber::current() { return running; }

std::size_t Fiber::releaseSpareStacks() { return stacks().releaseSpare(); }

bool Fiber::run() {
    Fiber* outer = running;
    running = this;
    auto& exceptions = threadExceptionState();
    const ExceptionState threads = exceptions;
    exceptions = {_caughtExceptions, _uncaughtExceptions};
#ifdef SLUICE_ASAN_FIBERS
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, _stack, kStackSize);
#endif
    _context = context::jump_fcontext(_context, this).fctx;  // back: where the fiber left
#ifdef SLUICE_ASAN_FIBERS
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    running = outer;
    _caughtExceptions = exceptions.caughtExceptions;
    _uncaughtExceptions = exceptions.uncaughtExceptions;
    exceptions = threads;
    if (_finished) return true;
    // Parked: from here another thread may run it once `then` has handed it on.
    auto then = std::move(_then);
    _then = nullptr;
    then(*this);
    return false;
}

void Fiber::park(std::function<void(Fiber&)> then) {
    Fiber* self = running;
    if (!self) throw std::logic_error("Fiber::park outside a fiber");
    self->_then = std::move(then);
    // The stack below this frame is dead while parked (trimParked). The
    // frame's address, not a local's: under AddressSanitizer a local may
    // live on a heap "fake stack".
    self->_parkedAt = __builtin_frame_address(0);
    self->leave();
}

void Fiber::trimParked() const {
    // A thousand parked streams keep only the pages they stand on.
    if (_parkedAt) trimBelow(_parkedAt);
}

void Fiber::leave() {
#ifdef SLUICE_ASAN_FIBERS
    __sanitizer_start_switch_fiber(_finished ? nullptr : &_fakeStack, _callerBottom, _callerSize);
#endif
    _caller = context::jump_fcontext(_caller, nullptr).fctx;
    // Run again, maybe on another thread: that thread's run() set `running`,
    // and `_caller` is now that thread's context.
#ifdef SLUICE_ASAN_FIBERS
    __sanitizer_finish_switch_fiber(_fakeStack, &_callerBottom, &_callerSize);
#endif
}

void Fiber::trimBelow(const void* depth) const {
    const auto page = pageSize();
    const auto low = reinterpret_cast<std::uintptr_t>(_stack);
    const auto at = reinterpret_cast<std::uintptr_t>(depth);
    if (at <= low || at >= low + kStackSize) return;  // not on this stack: touch nothing
    // Below the frame's page, one more page is kept (4 KiB or more below
    // the frame): the caller's locals, this call, madvise's and the
    // switch's own frames are still there, a few hundred bytes.
    const auto top = (at & ~(page - 1)) - page;
    if (top > low) ::madvise(_stack, top - low, MADV_DONTNEED);
}

void Fiber::start(void* caller) {
    _caller = caller;
#ifdef SLUICE_ASAN_FIBERS
    __sanitizer_finish_switch_fiber(nullptr, &_callerBottom, &_callerSize);
#endif
    try {
        _body();
    } catch (const std::exception& e) {
        Poco::Logger::get("sluice.kernel").error("a fiber's work failed: %s", std::string(e.what()));
    } catch (...) {
        Poco::Logger::get("sluice.kernel").error("a fiber's work failed");
    }
    _body = nullptr;  // what it holds goes on this stack, before the switch
    _finished = true;
    leave();
    std::abort();  // a finished fiber is never run again
}

} // namespace sluice::kernel
