#pragma once
// What the forwarder keeps per backend for one pipeline: its connection pool
// and its metric series. Built once with the pipeline, so a request does no
// registry look-ups and each metric is defined in one place.

#include <array>
#include <memory>
#include <string_view>

#include "ConnectionPool.h"
#include "capacity/SlotLimits.h"
#include "sluice/Metrics.h"

namespace sluice::kernel {

// How one exchange with a backend ended; the label of sluice_upstream_requests_total.
// Declined: a client error the request's alias moves on from (aliases.NAME.fallback_on).
enum class UpstreamOutcome { Ok, ConnectError, Timeout, Status5xx, Status429, ModelNotFound, Broken, UpstreamAuth, Declined };
inline constexpr std::size_t kUpstreamOutcomeCount = 9;
std::string_view outcomeLabel(UpstreamOutcome outcome);

class BackendMetrics {
public:
    BackendMetrics(MetricsRegistry& registry, const std::string& backend);

    Counter& outcome(UpstreamOutcome outcome) { return *_outcomes[static_cast<std::size_t>(outcome)]; }
    Gauge& inFlight;
    Histogram& timeToFirstByte;
    Histogram& latency;
    Counter& streamFailures;

private:
    std::array<Counter*, kUpstreamOutcomeCount> _outcomes{};
};

class Upstream {
public:
    Upstream(std::shared_ptr<const Backend> backend, MetricsRegistry& registry, SlotLimits slotLimits)
        : pool(backend), metrics(registry, backend->name), slots(std::move(slotLimits)) {}

    const Backend& backend() const { return pool.backend(); }

    ConnectionPool pool;
    BackendMetrics metrics;
    SlotLimits slots;  // backends.NAME.slots and model_slots
};

} // namespace sluice::kernel
