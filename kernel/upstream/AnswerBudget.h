#pragma once
// The bytes of whole answers held in memory at once, across all requests
// (limits.answer_buffer_bytes). A whole (non-stream) answer is read to its
// end before a byte goes out: it may be translated, and its usage is read
// from it. One answer is capped at 64 MiB, but without a shared budget eight
// concurrent 1 GB answers held 1.3 GB. A request whose answer does not fit
// in what is left is answered 503 (gateway_busy, Retry-After) and nothing
// is failed over: the next backend's answer would not fit either.
//
// Thread: any; one budget per process (a reload sets its limit, and
// requests of the old and new configuration share it).

#include <atomic>
#include <cstddef>

#include "sluice/Metrics.h"

namespace sluice::kernel {

class AnswerBudget {
public:
    static AnswerBudget& process();

    AnswerBudget() = default;
    AnswerBudget(const AnswerBudget&) = delete;
    AnswerBudget& operator=(const AnswerBudget&) = delete;

    // The budget from now on; holds already granted stay granted.
    void setLimit(std::size_t bytes) { _limit.store(bytes, std::memory_order_relaxed); }
    // `gauge` (sluice_answer_buffer_bytes) follows what is held from now on; it must live as long as the process.
    void reportTo(Gauge& gauge) {
        if (_gauge.exchange(&gauge, std::memory_order_relaxed) != &gauge) gauge.set(static_cast<std::int64_t>(inUse()));
    }
    std::size_t inUse() const { return _inUse.load(std::memory_order_relaxed); }

    // One answer's share, grown as its bytes arrive and given back when the
    // hold is destroyed.
    class Hold {
    public:
        explicit Hold(AnswerBudget& budget) : _budget(budget) {}
        ~Hold();
        Hold(const Hold&) = delete;
        Hold& operator=(const Hold&) = delete;

        // Grows the share to `bytes`. False, holding what it held: the budget has no room.
        bool growTo(std::size_t bytes);
        std::size_t held() const { return _held; }

    private:
        AnswerBudget& _budget;
        std::size_t _held = 0;
    };

private:
    bool take(std::size_t bytes);
    void giveBack(std::size_t bytes);
    void report(std::int64_t change);

    std::atomic<std::size_t> _limit{256u * 1024 * 1024};
    std::atomic<std::size_t> _inUse{0};
    std::atomic<Gauge*> _gauge{nullptr};
};

} // namespace sluice::kernel
