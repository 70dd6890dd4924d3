#pragma once
// priority: the backends that host the model in config order, available ones
// first and those with an open circuit last. The order is the failover order.

#include "sluice/OrderingRouter.h"
#include "sluice/Plugin.h"

namespace sluice::router {

class PriorityRouter final : public OrderingRouter {
public:
    explicit PriorityRouter(const StageSetup& setup) : OrderingRouter(setup.services) {}

protected:
    void order(const RequestContext& ctx, std::vector<Candidate>& step) override;
};

} // namespace sluice::router
