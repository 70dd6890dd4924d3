#pragma once
// The kernel's view of each backend's health: a circuit breaker fed by the
// forwarder's outcomes and by active probes, a circuit per (backend, model)
// fed by model-level failures, the requests in flight, and a moving average
// of time to first byte per model. Routers read it to order
// candidates; every read is cheap and never waits on the network.

#include <optional>
#include <string>

#include "sluice/Abi.h"

namespace sluice {

// Closed: in service. Open: failed recently, skipped until its back-off runs
// out. HalfOpen: the back-off ran out and one trial (a request or a probe)
// decides: success closes the circuit, failure opens it for twice as long.
enum class CircuitState { Closed, Open, HalfOpen };

class SLUICE_API HealthView {
public:
    virtual ~HealthView();
    // True while the circuit is closed, or half-open with its trial not yet
    // taken: a router puts unavailable backends last. Thread: any.
    virtual bool isAvailable(const std::string& backend) const = 0;
    // Requests being forwarded to the backend right now. Thread: any.
    virtual int inFlight(const std::string& backend) const = 0;
    virtual CircuitState circuit(const std::string& backend) const = 0;
    // Exponentially weighted moving average of the time to first byte, in
    // milliseconds, of `model` on `backend`; nullopt until one answer was
    // timed. Thread: any.
    virtual std::optional<double> firstByteMillis(const std::string& backend, const std::string& model) const = 0;
    // The circuit of one model on a backend: it opens on failures of that
    // model (a timeout, a 5xx, a broken answer) while the backend's own
    // circuit opens only when the backend cannot be reached. A router skips
    // a candidate whose model circuit is open as it skips an open backend.
    // Closed for a model that never failed. Thread: any.
    virtual CircuitState modelCircuit(const std::string& backend, const std::string& model) const = 0;
    // True while the model's circuit is closed, or half-open with its trial
    // not yet taken. Thread: any.
    virtual bool isModelAvailable(const std::string& backend, const std::string& model) const = 0;
};

} // namespace sluice
