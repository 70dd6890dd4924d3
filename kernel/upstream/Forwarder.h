#pragma once
// Walks a route plan: sends the request to each candidate in turn until one
// answers (Attempt), then the client has its answer. A passing failure (429,
// 500, 502, 503, a reset before any byte) is first tried again on the same
// candidate (RetryWait). Fails over on connect errors, timeouts, 5xx, 429,
// 404 (model), 401/403 (our credential), the 4xx classes an alias names, and
// streams that die before their first complete frame; the first frame is
// read before the client sees any byte. After that, a failure ends the
// stream with an error in the client's protocol. When no candidate serves,
// FailureTable decides the answer. docs/routing.md has the whole table.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "BackendHealth.h"
#include "Failure.h"
#include "Upstream.h"
#include "capacity/Capacity.h"
#include "http/ClientChannel.h"
#include "sluice/Aliases.h"
#include "sluice/Catalog.h"
#include "sluice/Metrics.h"
#include "sluice/RequestContext.h"

namespace Poco { class Logger; }

namespace sluice::kernel {

// What forwarding uses of one pipeline: its backends' pools and metrics,
// their health, a logger, the catalog (which models are loaded), the
// aliases (their failover settings) and the settings that bound an answer.
struct ForwardingServices {
    const std::map<std::string, std::unique_ptr<Upstream>>& upstreams;
    BackendHealth& health;
    Poco::Logger& log;
    std::chrono::seconds maxStream;  // timeout.max_stream_s; 0: no cap
    CatalogSnapshot catalog;
    const AliasTable& aliases;
    std::chrono::milliseconds requestTimeout;  // timeout.request_ms: until the answer begins; 0: no bound
    QueueSettings queue;  // how long and how many may wait for a slot

    // The pool and metrics of a backend, or nullptr.
    Upstream* upstream(const std::string& backend) const {
        const auto it = upstreams.find(backend);
        return it == upstreams.end() ? nullptr : it->second.get();
    }
};

class Forwarder {
public:
    // `capacity` holds the slots of every backend with bounds, and their queue.
    Forwarder(MetricsRegistry& metrics, Capacity& capacity);

    // Sets ctx.status, ctx.outcome, ctx.servedBackend/Model, ctx.usage and
    // ctx.failovers, and has answered the client when it returns.
    void forward(const ForwardingServices& services, RequestContext& ctx, std::string_view body, ClientChannel& client);

private:
    // Served-request metrics by backend and model, and by alias target.
    void countServed(const RequestContext& ctx);
    // The request moves on to another candidate: ctx.failovers and sluice_failover_total.
    void countFailover(const ForwardingServices& services, RequestContext& ctx, const std::string& from, const std::string& to,
                       std::string_view reason);
    // What a failed attempt leaves behind: the circuit, metrics and a log line.
    void noteFailure(const ForwardingServices& services, Upstream& upstream, const std::string& servedModel,
                     const RequestContext& ctx, const Failure& failure, std::chrono::steady_clock::duration took);

    // Queues the request for the first slot on any of `full` (candidates at
    // their bound), until `deadline` (queue.max_wait_ms from its first wait,
    // within timeout.request_ms). nullopt when the request was answered (503
    // shed) or ended (client gone, drain) instead.
    std::optional<Capacity::Granted> waitForSlot(const ForwardingServices& services, RequestContext& ctx,
                                                 ClientChannel& client, const std::vector<const Candidate*>& full,
                                                 std::chrono::steady_clock::time_point deadline);

    MetricsRegistry& _metrics;
    Capacity& _capacity;
};

} // namespace sluice::kernel
