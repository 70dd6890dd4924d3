// The discovery library: how Sluice learns which backend hosts which model.
#include "PollDiscovery.h"

namespace {
void registerStages(sluice::StageRegistry& registry) {
    registry.addDiscovery("poll", [](const sluice::StageSetup& setup) {
        return std::make_unique<sluice::discovery::PollDiscovery>(setup);
    });
}
} // namespace

SLUICE_PLUGIN("discovery", "0.1.0", registerStages)
