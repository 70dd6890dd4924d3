// The auth plugin library: registers the `apikey` stage.

#include "ApiKeyAuth.h"

namespace {

void registerStages(sluice::StageRegistry& registry) {
    registry.addAuth("apikey", [](const sluice::StageSetup& setup) { return std::make_unique<sluice::auth::ApiKeyAuth>(setup); });
    registry.declareKeys({"store.url", "redis.url", "redis.timeout_ms", "auth.argon2.time_cost", "auth.argon2.memory_kib",
                          "auth.argon2.parallelism", "auth.cache_ttl_s", "auth.cache_size", "auth.failure_cache_ttl_s",
                          "auth.failures_per_ip_per_min", "auth.max_parallel_verifies", "auth.change_poll_ms"});
}

} // namespace

SLUICE_PLUGIN("auth", "0.1.0", registerStages)
