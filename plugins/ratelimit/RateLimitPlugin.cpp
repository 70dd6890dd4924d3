// The rate limit plugin library: registers the `ratelimit` limits stage.

#include "RateLimitStage.h"

namespace {

void registerStages(sluice::StageRegistry& registry) {
    registry.addLimits("ratelimit", [](const sluice::StageSetup& setup) {
        return std::make_unique<sluice::ratelimit::RateLimitStage>(setup);
    });
}

} // namespace

SLUICE_PLUGIN("ratelimit", "0.1.0", registerStages)
