// The router library: every routing strategy Sluice ships, by stage name.
#include "PriorityRouter.h"

namespace {
void registerStages(sluice::StageRegistry& registry) {
    registry.addRouter("priority", [](const sluice::StageSetup& setup) {
        return std::make_unique<sluice::router::PriorityRouter>(setup);
    });
}
} // namespace

SLUICE_PLUGIN("router", "0.1.0", registerStages)
