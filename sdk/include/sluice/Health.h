#pragma once
// The kernel's view of each backend's health: a circuit breaker fed by the
// forwarder's outcomes, plus the number of requests in flight. Routers read
// it to order candidates; it is cheap and lock-free to read.

#include <string>

#include "sluice/Abi.h"

namespace sluice {

class SLUICE_API HealthView {
public:
    virtual ~HealthView();
    // False while the backend's circuit is open (it failed recently and its
    // back-off has not run out). Thread: any.
    virtual bool isAvailable(const std::string& backend) const = 0;
    // Requests being forwarded to the backend right now. Thread: any.
    virtual int inFlight(const std::string& backend) const = 0;
};

} // namespace sluice
