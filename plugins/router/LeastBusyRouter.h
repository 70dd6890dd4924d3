#pragma once
// least-busy: the host with the fewest requests in flight (as the kernel
// counts them) first; ties keep config order.

#include "sluice/OrderingRouter.h"
#include "sluice/Plugin.h"

namespace sluice::router {

class LeastBusyRouter final : public OrderingRouter {
public:
    explicit LeastBusyRouter(const StageSetup& setup) : OrderingRouter(setup.services) {}

protected:
    void order(const RequestContext& ctx, std::vector<Candidate>& step) override;
};

// Sorts by requests in flight, stably, and notes the count in each reason.
void orderByInFlight(const HealthView& health, std::vector<Candidate>& step);

} // namespace sluice::router
