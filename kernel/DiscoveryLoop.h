#pragma once
// Polls every backend in parallel on each tick through the pipeline's
// discovery stage and publishes a new catalog snapshot. A backend whose poll
// fails keeps its last list until the TTL runs out; one slow backend never
// delays the others past the poll timeout.

#include <map>

#include "PeriodicTask.h"

#include "sluice/Catalog.h"

namespace sluice::kernel {

class Pipeline;

class DiscoveryLoop {
public:
    explicit DiscoveryLoop(Pipeline& pipeline);
    ~DiscoveryLoop();

    // One round: polls all backends, waits for all of them (each bounded by
    // its timeout), publishes the catalog.
    void pollOnce();
    void startBackground();
    void stop();

private:
    Pipeline& _pipeline;
    std::map<std::string, BackendModels> _last;  // Thread: only pollOnce touches it
    PeriodicTask _task;
};

} // namespace sluice::kernel
