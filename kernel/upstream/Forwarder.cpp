#include "Forwarder.h"

#include <algorithm>
#include <optional>
#include <vector>

#include <Poco/Logger.h>

#include "Attempt.h"
#include "FailureTable.h"
#include "dialect/ErrorBody.h"
#include "dialect/Dialects.h"

namespace sluice::kernel {

Forwarder::Forwarder(MetricsRegistry& metrics) : _metrics(metrics) {}

void Forwarder::forward(const ForwardingServices& services, RequestContext& ctx, std::string_view body, ClientChannel& client) {
    std::optional<Failure> last;
    std::string lastBackend;
    // What failed this request is not asked again: a backend that failed as
    // a whole (no connection), or one (backend, model) candidate (Failure::wholeBackend).
    std::vector<std::string> downBackends;
    std::vector<std::pair<std::string, std::string>> failedCandidates;
    bool protocolMismatch = false;
    for (const auto& candidate : ctx.plan.candidates) {
        auto* upstream = services.upstream(candidate.backend);
        if (!upstream) continue;
        const auto& backend = upstream->backend();
        if (std::find(downBackends.begin(), downBackends.end(), backend.name) != downBackends.end()) continue;
        const auto* dialect = dialectFor(ctx.route, backend);
        if (!dialect) {
            protocolMismatch = true;
            continue;
        }
        const std::string servedModel = candidate.upstreamModel.empty() ? ctx.model : candidate.upstreamModel;
        const std::pair<std::string, std::string> pair{backend.name, servedModel};
        if (std::find(failedCandidates.begin(), failedCandidates.end(), pair) != failedCandidates.end()) continue;
        if (auto own = dialect->ownAnswer({ctx, backend, servedModel})) {
            ctx.servedBackend = backend.name;
            ctx.servedModel = servedModel;
            ctx.status = own->status;
            if (own->status >= 400) ctx.outcome = Outcome::BadRequest;
            client.sendWhole(own->status, own->contentType, own->body);
            return;
        }
        if (last) {
            ctx.failovers++;
            _metrics.counter("sluice_failover_total", "Times a request moved on from a failed backend to the next candidate.",
                             {{"from", lastBackend}, {"to", backend.name}, {"reason", std::string(outcomeLabel(last->kind))}})
                .inc();
        }
        const auto started = std::chrono::steady_clock::now();
        const auto failure = Attempt(services, *upstream, *dialect, ctx, servedModel, client).run(body);
        if (!failure) {
            if (ctx.servedBackend == backend.name) {
                upstream->metrics.latency.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
                countServed(ctx);
            }
            return;
        }
        // A timeout is the slowest answer of all: without this sample a backend
        // that only ever times out would stay "not yet timed", the latency
        // router's first choice.
        if (failure->kind == UpstreamOutcome::Timeout)
            services.health.recordFirstByte(backend.name, servedModel, std::chrono::steady_clock::now() - started);
        // A 404 says the model is not there, not that the backend is unwell:
        // it must not push the backend's other models down the plans.
        if (failure->kind != UpstreamOutcome::ModelNotFound) {
            const std::string kind(outcomeLabel(failure->kind));
            services.health.recordFailure(backend.name, kind + ": " + healthSafe(failure->detail, backend, "(detail withheld)"));
        }
        upstream->metrics.outcome(failure->kind).inc();
        services.log.warning("request %s: backend %s failed (%s); trying the next candidate", ctx.requestId, backend.name,
                             failure->detail);
        last = failure;
        lastBackend = backend.name;
        if (failure->wholeBackend) downBackends.push_back(backend.name);
        else failedCandidates.push_back(pair);
    }

    // Nothing served it: one answer that names no backend, host or URL.
    const auto answer = answerForFailure(last, protocolMismatch, ctx);
    ctx.outcome = answer.outcome;
    ctx.status = answer.status;
    if (!answer.retryAfter.empty()) ctx.responseHeaders.emplace_back("Retry-After", answer.retryAfter);
    client.sendWhole(answer.status, "application/json", errorBody(ctx.route.protocol, answer.status, answer.message, answer.code));
}

void Forwarder::countServed(const RequestContext& ctx) {
    _metrics.counter("sluice_model_requests_total", "Requests served, by backend and the model it served.",
                     {{"backend", ctx.servedBackend}, {"model", ctx.servedModel}})
        .inc();
    if (!ctx.plan.alias.empty())
        _metrics.counter("sluice_alias_resolved_total", "Requests for an alias, by the target that served them.",
                         {{"alias", ctx.plan.alias}, {"target", ctx.servedBackend + "/" + ctx.servedModel}})
            .inc();
}

} // namespace sluice::kernel
