// The auth plugin library: registers the `apikey` stage.

#include "ApiKeyAuth.h"

namespace {

void registerStages(sluice::StageRegistry& registry) {
    registry.addAuth("apikey", [](const sluice::StageSetup& setup) { return std::make_unique<sluice::auth::ApiKeyAuth>(setup); });
}

} // namespace

SLUICE_PLUGIN("auth", "0.1.0", registerStages)
