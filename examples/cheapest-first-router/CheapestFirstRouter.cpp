// cheapest-first: among the healthy backends that host the model, the one
// with the lowest configured cost first; equal costs keep the backends'
// config order. A backend without a cost is taken as the most expensive.
//
//   plugins.load = apikey, discovery, cheapest-first-router
//   pipeline.router = cheapest-first
//   router.cost.local-gpu = 0          # cost per million tokens, whole units
//   router.cost.cloud = 150
//
// Backends whose circuit is open still go last, whatever they cost: the
// SDK's OrderingRouter does that before this strategy sees a step.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "sluice/ConfigError.h"
#include "sluice/OrderingRouter.h"
#include "sluice/Plugin.h"

namespace {

class CheapestFirstRouter final : public sluice::OrderingRouter {
public:
    // Costs are read and checked once; requests only read the map.
    explicit CheapestFirstRouter(const sluice::StageSetup& setup) : OrderingRouter(setup.services) {
        std::vector<std::string> backends;
        setup.config.keys("cost", backends);
        for (const auto& backend : backends) {
            if (!setup.services.backend(backend))
                throw sluice::ConfigError("router.cost." + backend, "no backend named '" + backend + "'");
            _cost[backend] = setup.reader.integer("cost." + backend, 0, 0, 1'000'000'000);
        }
    }

protected:
    void order(const sluice::RequestContext&, std::vector<sluice::Candidate>& step) override {
        auto cost = [&](const sluice::Candidate& candidate) {
            const auto it = _cost.find(candidate.backend);
            return it == _cost.end() ? std::numeric_limits<std::int64_t>::max() : it->second;
        };
        std::stable_sort(step.begin(), step.end(), [&](const auto& a, const auto& b) { return cost(a) < cost(b); });
        for (auto& candidate : step) {
            const auto c = cost(candidate);
            candidate.reason = c == std::numeric_limits<std::int64_t>::max() ? "no cost set" : "cost " + std::to_string(c);
        }
    }

private:
    std::map<std::string, std::int64_t> _cost;  // backend -> cost per million tokens
};

void registerStages(sluice::StageRegistry& registry) {
    registry.addRouter("cheapest-first",
                       [](const sluice::StageSetup& setup) { return std::make_unique<CheapestFirstRouter>(setup); });
    registry.declareKeys({"router.cost.*"});  // one per backend
}

} // namespace

SLUICE_PLUGIN("cheapest-first-router", "1.0.0", registerStages)
