#pragma once
// Active health checks: every `health.probe_interval_ms` each backend gets one
// cheap request (Ollama: GET /api/version; openai kind: GET {base}/models),
// all in parallel, each bounded by `health.probe_timeout_ms`.
//   - closed circuit: a failed probe counts as a failure, so a dead backend's
//     circuit opens before client requests have to find out;
//   - open circuit: left alone until its back-off runs out;
//   - half-open: the probe takes the trial, so a recovered backend is closed
//     again without a client request having to be the guinea pig.

#include <chrono>

#include "sluice/Backend.h"

#include "PeriodicTask.h"

namespace sluice::kernel {

class Pipeline;

struct ProbeSettings {
    std::chrono::milliseconds interval{5000};  // 0: no active probes
    std::chrono::milliseconds timeout{2000};
};

class HealthProber {
public:
    HealthProber(Pipeline& pipeline, ProbeSettings settings);
    ~HealthProber();

    // One round over all backends; returns when every probe has ended.
    void probeOnce();
    void startBackground();
    void stop();

private:
    void probe(const Backend& backend);

    Pipeline& _pipeline;
    ProbeSettings _settings;
    PeriodicTask _task;
};

} // namespace sluice::kernel
