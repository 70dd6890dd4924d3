#include "Upstream.h"

namespace sluice::kernel {

std::string_view outcomeLabel(UpstreamOutcome outcome) {
    switch (outcome) {
    case UpstreamOutcome::Ok: return "ok";
    case UpstreamOutcome::ConnectError: return "connect_error";
    case UpstreamOutcome::Timeout: return "timeout";
    case UpstreamOutcome::Status5xx: return "status_5xx";
    case UpstreamOutcome::Status429: return "status_429";
    case UpstreamOutcome::ModelNotFound: return "model_not_found";
    case UpstreamOutcome::Broken: return "broken";
    case UpstreamOutcome::UpstreamAuth: return "upstream_auth";
    case UpstreamOutcome::Declined: return "declined";
    }
    return "unknown";
}

BackendMetrics::BackendMetrics(MetricsRegistry& registry, const std::string& backend)
    : inFlight(registry.gauge("sluice_upstream_in_flight", "Requests in flight to each backend.", {{"backend", backend}})),
      timeToFirstByte(registry.histogram("sluice_upstream_ttfb_seconds",
                                         "Time from sending to a backend to its first answer byte.", {{"backend", backend}})),
      latency(registry.histogram("sluice_upstream_latency_seconds",
                                 "Time from sending to a backend to the end of its answer.", {{"backend", backend}})),
      streamFailures(registry.counter("sluice_stream_failures_total",
                                      "Streams ended by a backend failure after their first byte.", {{"backend", backend}})) {
    for (std::size_t i = 0; i < kUpstreamOutcomeCount; ++i) {
        const auto label = std::string(outcomeLabel(static_cast<UpstreamOutcome>(i)));
        _outcomes[i] = &registry.counter("sluice_upstream_requests_total", "Requests sent to backends, by outcome.",
                                         {{"backend", backend}, {"outcome", label}});
    }
}

} // namespace sluice::kernel
