#pragma once
// round-robin: each request starts at the next host of the model in turn, then
// the others in config order after it, so failover order rotates too.

#include <atomic>
#include <cstdint>

#include "sluice/OrderingRouter.h"
#include "sluice/Plugin.h"

namespace sluice::router {

class RoundRobinRouter final : public OrderingRouter {
public:
    explicit RoundRobinRouter(const StageSetup& setup) : OrderingRouter(setup.services) {}

protected:
    void order(const RequestContext& ctx, std::vector<Candidate>& step) override;

private:
    std::atomic<std::uint64_t> _next{0};
};

} // namespace sluice::router
