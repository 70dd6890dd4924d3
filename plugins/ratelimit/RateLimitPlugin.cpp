// The rate limit plugin library: registers the `ratelimit` limits stage.

#include "RateLimitStage.h"

namespace {

void registerStages(sluice::StageRegistry& registry) {
    registry.addLimits("ratelimit", [](const sluice::StageSetup& setup) {
        return std::make_unique<sluice::ratelimit::RateLimitStage>(setup);
    });
    registry.declareKeys({"limits.default_rpm", "limits.default_tpm", "limits.default_concurrent", "limits.max_num_predict",
                          "limits.on_store_error", "limits.lease_ttl_s", "redis.url", "redis.timeout_ms"});
}

} // namespace

SLUICE_PLUGIN("ratelimit", "0.1.0", registerStages)
