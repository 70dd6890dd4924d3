#include "ResidentRouter.h"

#include <algorithm>
#include <set>

#include "LeastBusyRouter.h"

namespace sluice::router {

void ResidentRouter::order(const RequestContext&, std::vector<Candidate>& step) {
    const auto catalog = services().catalog();
    std::set<std::string> loaded;
    for (const auto& candidate : step)
        if (catalog->isLoaded(candidate.backend, candidate.upstreamModel)) loaded.insert(candidate.backend);
    orderByInFlight(services().health(), step);
    std::stable_partition(step.begin(), step.end(), [&](const Candidate& c) { return loaded.contains(c.backend); });
    for (auto& candidate : step)
        candidate.reason = (loaded.contains(candidate.backend) ? "loaded, " : "not loaded, ") + candidate.reason;
}

} // namespace sluice::router
