#include "RoundRobinRouter.h"

#include <algorithm>

namespace sluice::router {

void RoundRobinRouter::order(const RequestContext&, std::vector<Candidate>& step) {
    if (step.empty()) return;
    const auto turn = _next.fetch_add(1, std::memory_order_relaxed) % step.size();
    std::rotate(step.begin(), step.begin() + static_cast<std::ptrdiff_t>(turn), step.end());
    for (auto& candidate : step) candidate.reason = "round-robin";
}

} // namespace sluice::router
