#pragma once
// round-robin: each request starts at the next host of the model in turn, then
// the others in config order after it, so failover order rotates too. Turns
// are counted per set of hosts, so models (or an alias's steps) on different
// backends do not take each other's turns.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "sluice/OrderingRouter.h"
#include "sluice/Plugin.h"

namespace sluice::router {

class RoundRobinRouter final : public OrderingRouter {
public:
    explicit RoundRobinRouter(const StageSetup& setup) : OrderingRouter(setup.services) {}

protected:
    void order(const RequestContext& ctx, std::vector<Candidate>& step) override;

private:
    std::mutex _mutex;  // held for one map look-up
    std::map<std::string, std::uint64_t> _next;  // keyed by the hosts' names joined
};

} // namespace sluice::router
