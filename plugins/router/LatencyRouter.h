#pragma once
// latency: the host with the lowest moving average of time to first byte for
// this model first (the kernel keeps the averages). A host never timed for
// the model comes first, so it gets measured. Now and then
// (`router.explore_ratio`, default 0.05) a random other host goes first
// instead, so a backend that was slow once and has recovered is noticed.

#include <mutex>
#include <random>

#include "sluice/OrderingRouter.h"
#include "sluice/Plugin.h"

namespace sluice::router {

class LatencyRouter final : public OrderingRouter {
public:
    explicit LatencyRouter(const StageSetup& setup);

protected:
    void order(const RequestContext& ctx, std::vector<Candidate>& step) override;

private:
    double _exploreRatio;
    std::mutex _mutex;  // guards _random; held for one draw
    std::mt19937_64 _random;
};

} // namespace sluice::router
