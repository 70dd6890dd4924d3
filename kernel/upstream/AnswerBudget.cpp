#include "AnswerBudget.h"

namespace sluice::kernel {

AnswerBudget& AnswerBudget::process() {
    static AnswerBudget budget;
    return budget;
}

bool AnswerBudget::take(std::size_t bytes) {
    auto used = _inUse.load(std::memory_order_relaxed);
    do {
        if (used + bytes > _limit.load(std::memory_order_relaxed)) return false;
    } while (!_inUse.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    report(static_cast<std::int64_t>(bytes));
    return true;
}

void AnswerBudget::giveBack(std::size_t bytes) {
    _inUse.fetch_sub(bytes, std::memory_order_relaxed);
    report(-static_cast<std::int64_t>(bytes));
}

void AnswerBudget::report(std::int64_t change) {
    if (auto* gauge = _gauge.load(std::memory_order_relaxed)) gauge->add(change);
}

AnswerBudget::Hold::~Hold() {
    if (_held > 0) _budget.giveBack(_held);
}

bool AnswerBudget::Hold::growTo(std::size_t bytes) {
    if (bytes <= _held) return true;
    if (!_budget.take(bytes - _held)) return false;
    _held = bytes;
    return true;
}

} // namespace sluice::kernel
