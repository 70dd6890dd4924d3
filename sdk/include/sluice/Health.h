#pragma once
// The kernel's view of each backend's health: a circuit breaker fed by the
// forwarder's outcomes and by active probes, the requests in flight, and a
// moving average of time to first byte per model. Routers read it to order
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
};

} // namespace sluice
