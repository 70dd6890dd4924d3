#include "RoundRobinRouter.h"

#include <algorithm>

namespace sluice::router {

void RoundRobinRouter::order(const RequestContext&, std::vector<Candidate>& step) {
    std::string hosts;
    for (const auto& candidate : step) hosts += candidate.backend + '\n';
    std::uint64_t turn = 0;
    {
        std::lock_guard lock(_mutex);
        turn = _next[hosts]++ % step.size();
    }
    std::rotate(step.begin(), step.begin() + static_cast<std::ptrdiff_t>(turn), step.end());
    for (auto& candidate : step) candidate.reason = "round-robin";
}

} // namespace sluice::router
