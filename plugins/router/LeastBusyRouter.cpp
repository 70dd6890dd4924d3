#include "LeastBusyRouter.h"

#include <algorithm>
#include <map>

namespace sluice::router {

void orderByInFlight(const HealthView& health, std::vector<Candidate>& step) {
    // Read each count once: they change under our feet, and a sort needs a stable key.
    std::map<std::string, int> busy;
    for (const auto& candidate : step) busy.emplace(candidate.backend, health.inFlight(candidate.backend));
    std::stable_sort(step.begin(), step.end(),
                     [&](const Candidate& a, const Candidate& b) { return busy[a.backend] < busy[b.backend]; });
    for (auto& candidate : step)
        candidate.reason += (candidate.reason.empty() ? "" : ", ") + std::to_string(busy[candidate.backend]) + " in flight";
}

void LeastBusyRouter::order(const RequestContext&, std::vector<Candidate>& step) {
    orderByInFlight(services().health(), step);
}

} // namespace sluice::router
