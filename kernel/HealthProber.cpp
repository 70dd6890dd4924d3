#include "HealthProber.h"

#include <future>
#include <vector>

#include "Pipeline.h"
#include "sluice/BackendFetch.h"

namespace sluice::kernel {

HealthProber::HealthProber(Pipeline& pipeline, ProbeSettings settings) : _pipeline(pipeline), _settings(settings) {}

HealthProber::~HealthProber() { stop(); }

void HealthProber::probe(const Backend& backend) {
    auto& health = _pipeline.backendHealth();
    const std::string path = backend.kind == BackendKind::Ollama ? "/api/version" : backend.modelListPath();
    const auto result = fetchJson(backend, path, _settings.timeout);
    // Any answer from the server means it is up; no answer, a 5xx, or a
    // refusal of our credential (requests would fail the same way) does not.
    const bool up = result.status >= 200 && result.status < 500 && result.status != 401 && result.status != 403;
    if (!up) {
        // fetchJson's error names the path and the failure, never the token.
        health.recordFailure(backend.name, "probe: " + healthSafe(result.error, backend, path + ": failed"));
    } else if (health.circuit(backend.name) != CircuitState::Closed) {
        health.recordSuccess(backend.name);
        _pipeline.logger("health").information("backend %s: probe succeeded, circuit closed", backend.name);
    }
}

void HealthProber::probeOnce() {
    auto& health = _pipeline.backendHealth();
    std::vector<std::future<void>> probes;
    for (const auto& backend : _pipeline.backends()) {
        const auto state = health.circuit(backend->name);
        if (state == CircuitState::Open) continue;
        const bool trial = state == CircuitState::HalfOpen;
        if (trial && !health.takeTrial(backend->name)) continue;  // a request is the trial
        try {
            probes.push_back(std::async(std::launch::async, [this, backend] { probe(*backend); }));
        } catch (const std::system_error&) {
            if (trial) health.releaseTrial(backend->name);  // no thread for it: the next round tries
            throw;
        }
    }
    for (auto& probe : probes) probe.wait();
}

void HealthProber::startBackground() {
    if (_settings.interval.count() > 0) _task.start(_settings.interval, [this] { probeOnce(); });
}

void HealthProber::stop() { _task.stop(); }

} // namespace sluice::kernel
