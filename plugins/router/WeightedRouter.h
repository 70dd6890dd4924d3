#pragma once
// weighted: spreads requests over the hosts of a model in proportion to each
// backend's `weight`, with nginx's smooth weighted round-robin: over any run
// of sum(weights) requests each host is first exactly `weight` times, and
// picks interleave instead of coming in bursts. After the pick the others
// follow by weight, then config order.

#include <map>
#include <mutex>
#include <string>

#include "sluice/OrderingRouter.h"
#include "sluice/Plugin.h"

namespace sluice::router {

class WeightedRouter final : public OrderingRouter {
public:
    explicit WeightedRouter(const StageSetup& setup) : OrderingRouter(setup.services) {}

protected:
    void order(const RequestContext& ctx, std::vector<Candidate>& step) override;

private:
    int weightOf(const std::string& backend) const;

    // Current weights per host set (the backends of one model), keyed by
    // their names joined. Held only for a few additions per request.
    std::mutex _mutex;
    std::map<std::string, std::map<std::string, long long>> _current;
};

} // namespace sluice::router
