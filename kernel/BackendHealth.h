#pragma once
// A circuit breaker per backend, fed by the forwarder's outcomes: after
// `threshold` failures in a row the backend is skipped (routers put it last)
// for a back-off that doubles on each further failure, up to a cap. The
// first success closes it. Reads are lock-free atomics.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "sluice/Backend.h"
#include "sluice/Health.h"

namespace sluice::kernel {

struct HealthPolicy {
    int failureThreshold = 3;
    std::chrono::milliseconds baseBackoff{1000};
    std::chrono::milliseconds maxBackoff{60000};
};

class BackendHealth final : public HealthView {
public:
    BackendHealth(const BackendList& backends, HealthPolicy policy);

    bool isAvailable(const std::string& backend) const override;
    int inFlight(const std::string& backend) const override;

    void recordSuccess(const std::string& backend);
    void recordFailure(const std::string& backend);
    void beginRequest(const std::string& backend);
    void endRequest(const std::string& backend);
    int consecutiveFailures(const std::string& backend) const;

private:
    struct State {
        std::atomic<int> consecutiveFailures{0};
        std::atomic<long long> openUntilMs{0};  // steady clock, ms since epoch of the clock
        std::atomic<int> inFlight{0};
    };
    State* find(const std::string& backend) const;

    HealthPolicy _policy;
    std::map<std::string, std::unique_ptr<State>> _states;  // fixed after construction
};

} // namespace sluice::kernel
