// The router library: every routing strategy Sluice ships, by stage name.
#include "AffinityRouter.h"
#include "LatencyRouter.h"
#include "LeastBusyRouter.h"
#include "PriorityRouter.h"
#include "ResidentRouter.h"
#include "RoundRobinRouter.h"
#include "WeightedRouter.h"

namespace {
template <class Router>
void add(sluice::StageRegistry& registry, const char* name) {
    registry.addRouter(name, [](const sluice::StageSetup& setup) { return std::make_unique<Router>(setup); });
}

void registerStages(sluice::StageRegistry& registry) {
    add<sluice::router::PriorityRouter>(registry, "priority");
    add<sluice::router::RoundRobinRouter>(registry, "round-robin");
    add<sluice::router::WeightedRouter>(registry, "weighted");
    add<sluice::router::LeastBusyRouter>(registry, "least-busy");
    add<sluice::router::LatencyRouter>(registry, "latency");
    add<sluice::router::ResidentRouter>(registry, "resident");
    add<sluice::router::AffinityRouter>(registry, "affinity");
    registry.declareKeys({"router.explore_ratio", "router.seed"});  // latency's
}
} // namespace

SLUICE_PLUGIN("router", "0.2.0", registerStages)
