#pragma once
// priority: the backends that host the model, in config order, available
// ones first and those with an open circuit last. The order is the failover
// order. Reads only the catalog and health snapshots: never blocks.

#include "sluice/Plugin.h"

namespace sluice::router {

class PriorityRouter final : public RouterStage {
public:
    explicit PriorityRouter(const StageSetup& setup) : _services(setup.services) {}
    Verdict route(RequestContext& ctx) override;

private:
    KernelServices& _services;
};

} // namespace sluice::router
