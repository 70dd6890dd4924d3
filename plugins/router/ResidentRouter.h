#pragma once
// resident: hosts that have the model loaded in memory now (Ollama /api/ps,
// as discovery last saw it) first, so nobody waits for a model load; within
// each group the least busy first, then config order.

#include "sluice/OrderingRouter.h"
#include "sluice/Plugin.h"

namespace sluice::router {

class ResidentRouter final : public OrderingRouter {
public:
    explicit ResidentRouter(const StageSetup& setup) : OrderingRouter(setup.services) {}

protected:
    void order(const RequestContext& ctx, std::vector<Candidate>& step) override;
};

} // namespace sluice::router
