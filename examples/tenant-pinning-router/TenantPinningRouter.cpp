// tenant-pinning: each tenant's requests go first to the backends of its own
// pool, then to the shared pool, then to whatever else hosts the model.
//
//   plugins.load = allow-all, discovery, tenant-pinning-router
//   pipeline.router = tenant-pinning
//   router.pinning.pools.acme = gpu-acme-1, gpu-acme-2
//   router.pinning.shared = gpu-shared
//
// Built on the SDK's OrderingRouter, which expands models and aliases into
// steps of candidates and puts backends with an open circuit last: this
// strategy only ranks the candidates of one step.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "sluice/ConfigError.h"
#include "sluice/OrderingRouter.h"
#include "sluice/Plugin.h"

namespace {

class TenantPinningRouter final : public sluice::OrderingRouter {
public:
    // Reads and checks the pools once; requests then only read them.
    explicit TenantPinningRouter(const sluice::StageSetup& setup) : OrderingRouter(setup.services) {
        std::vector<std::string> tenants;
        setup.config.keys("pinning.pools", tenants);
        for (const auto& tenant : tenants) _pools[tenant] = checked(setup, "pinning.pools." + tenant);
        _shared = checked(setup, "pinning.shared");
    }

protected:
    void order(const sluice::RequestContext& ctx, std::vector<sluice::Candidate>& step) override {
        const auto pool = ctx.principal ? _pools.find(ctx.principal->tenant) : _pools.end();
        auto rank = [&](const sluice::Candidate& candidate) {
            if (pool != _pools.end())
                if (auto at = std::find(pool->second.begin(), pool->second.end(), candidate.backend); at != pool->second.end())
                    return static_cast<long>(at - pool->second.begin());
            if (auto at = std::find(_shared.begin(), _shared.end(), candidate.backend); at != _shared.end())
                return 1000 + static_cast<long>(at - _shared.begin());
            return 2000L;  // hosts the model but is in no pool: last, in config order
        };
        std::stable_sort(step.begin(), step.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
        for (auto& candidate : step) {
            const auto r = rank(candidate);
            candidate.reason = r < 1000 ? "tenant pool" : r < 2000 ? "shared pool" : "unpinned";
        }
    }

private:
    // A list of backend names, each one configured (a typo fails start-up or reload).
    static std::vector<std::string> checked(const sluice::StageSetup& setup, const std::string& key) {
        auto names = setup.reader.list(key);
        for (const auto& name : names)
            if (!setup.services.backend(name)) throw sluice::ConfigError("router." + key, "no backend named '" + name + "'");
        return names;
    }

    std::map<std::string, std::vector<std::string>> _pools;  // tenant -> its backends, preferred first
    std::vector<std::string> _shared;
};

void registerStages(sluice::StageRegistry& registry) {
    registry.addRouter("tenant-pinning",
                       [](const sluice::StageSetup& setup) { return std::make_unique<TenantPinningRouter>(setup); });
    registry.declareKeys({"router.pinning.pools.*", "router.pinning.shared"});  // a pool per tenant
}

} // namespace

SLUICE_PLUGIN("tenant-pinning-router", "1.0.0", registerStages)
