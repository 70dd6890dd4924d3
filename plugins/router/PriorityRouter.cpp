#include "PriorityRouter.h"

namespace sluice::router {

Verdict PriorityRouter::route(RequestContext& ctx) {
    const auto catalog = _services.catalog();
    const auto& health = _services.health();
    std::vector<Candidate> resting;  // circuit open: tried only after every healthy host
    for (const auto& backend : catalog->backendsFor(ctx.model)) {
        Candidate candidate{backend, ctx.model, "priority"};
        if (health.isAvailable(backend)) ctx.plan.candidates.push_back(std::move(candidate));
        else resting.push_back(std::move(candidate));
    }
    for (auto& candidate : resting) {
        candidate.reason = "priority, circuit open";
        ctx.plan.candidates.push_back(std::move(candidate));
    }
    return Verdict::Continue;
}

} // namespace sluice::router
