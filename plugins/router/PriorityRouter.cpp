#include "PriorityRouter.h"

namespace sluice::router {

void PriorityRouter::order(const RequestContext&, std::vector<Candidate>& step) {
    // candidateSteps already lists a model's hosts in config order.
    for (auto& candidate : step) candidate.reason = "priority";
}

} // namespace sluice::router
