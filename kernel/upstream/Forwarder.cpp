#include "Forwarder.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include <Poco/Logger.h>

#include "Attempt.h"
#include "net/DrainDeadline.h"
#include "FailureTable.h"
#include "RetryWait.h"
#include "dialect/ErrorBody.h"
#include "dialect/Dialects.h"

namespace sluice::kernel {

namespace {
// The request that asks a candidate to continue a broken answer: the same
// conversation, ending with the answer so far as an assistant prefill
// (Ollama and OpenAI chat share the message shape).
nlohmann::json continuationOf(const nlohmann::json& request, const std::string& answerSoFar) {
    auto continued = request;
    continued["messages"].push_back({{"role", "assistant"}, {"content", answerSoFar}});
    return continued;
}

// Puts a continuation's body in the context for one attempt (the dialects
// read it there), and the client's back after it: audit and limits see the
// request the client sent.
class BodySwap {
public:
    BodySwap(RequestContext& ctx, nlohmann::json body) : _ctx(ctx), _original(std::exchange(ctx.body, std::move(body))) {}
    ~BodySwap() { _ctx.body = std::move(_original); }
    BodySwap(const BodySwap&) = delete;
    BodySwap& operator=(const BodySwap&) = delete;

private:
    RequestContext& _ctx;
    nlohmann::json _original;
};
} // namespace

Forwarder::Forwarder(MetricsRegistry& metrics) : _metrics(metrics) {}

void Forwarder::forward(const ForwardingServices& services, RequestContext& ctx, std::string_view body, ClientChannel& client) {
    const Alias* alias = ctx.plan.alias.empty() ? nullptr : services.aliases.find(ctx.plan.alias);
    const Attempt::Terms terms{alias, services.requestTimeout.count() > 0 ? ctx.startedAt + services.requestTimeout
                                                                          : Clock::time_point::max()};
    // timeout.request_ms bounds the search for an answer's beginning; a
    // continuation comes after it began, and is bounded by timeout.max_stream_s.
    const Attempt::Terms continuationTerms{alias, services.maxStream.count() > 0 ? ctx.startedAt + services.maxStream
                                                                                 : Clock::time_point::max()};
    // A stream that broke after its first frame, left open for a
    // continuation: from then on only candidates that take a prefill are asked.
    std::optional<BrokenStream> broken;
    std::optional<Failure> last;
    std::string lastBackend;
    // What failed this request is not asked again: a backend that failed as
    // a whole (no connection), or one (backend, model) candidate (Failure::wholeBackend).
    std::vector<std::string> downBackends;
    std::vector<std::pair<std::string, std::string>> failedCandidates;
    auto ruleOut = [&](const Failure& failure, const std::pair<std::string, std::string>& candidate) {
        if (failure.wholeBackend) downBackends.push_back(candidate.first);
        else failedCandidates.push_back(candidate);
    };
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
        if (broken) {
            if (drain::ended()) break;  // shutting down: the stream ends with its first break
            if (!backend.acceptsPrefill(servedModel)) continue;
            countFailover(ctx, lastBackend, backend.name, "continuation");
            const BodySwap swap(ctx, continuationOf(ctx.body, broken->text));
            const auto started = Clock::now();
            auto failure = Attempt(services, *upstream, *dialect, ctx, servedModel, client, continuationTerms, &*broken)
                               .run(ctx.body.dump());
            if (!failure) return;
            if (!failure->broken) noteFailure(services, *upstream, servedModel, ctx, *failure, Clock::now() - started);
            else broken = std::move(failure->broken);  // it broke too, after adding to the answer
            lastBackend = backend.name;
            ruleOut(*failure, pair);
            continue;
        }
        if (auto own = dialect->ownAnswer({ctx, backend, servedModel})) {
            ctx.servedBackend = backend.name;
            ctx.servedModel = servedModel;
            ctx.status = own->status;
            if (own->status >= 400) ctx.outcome = Outcome::BadRequest;
            client.sendWhole(own->status, own->contentType, own->body);
            return;
        }
        // timeout.request_ms bounds the whole search for an answer.
        if (Clock::now() >= terms.deadline) {
            if (!last) last = Failure{UpstreamOutcome::Timeout, "timeout.request_ms ran out", {}};
            break;
        }
        if (last) countFailover(ctx, lastBackend, backend.name, outcomeLabel(last->kind));
        const auto retry = alias ? alias->retry.over(backend.retry) : backend.retry;
        std::optional<Failure> failure;
        for (int retries = 0;; ++retries) {
            const auto started = Clock::now();
            failure = Attempt(services, *upstream, *dialect, ctx, servedModel, client, terms).run(body);
            if (!failure) {
                if (ctx.servedBackend == backend.name) {
                    upstream->metrics.latency.observe(std::chrono::duration<double>(Clock::now() - started).count());
                    countServed(ctx);
                }
                return;
            }
            if (failure->broken) {
                // Recorded as the stream broke; the client has bytes: no retry.
                // It was served, if not to its end.
                countServed(ctx);
                break;
            }
            noteFailure(services, *upstream, servedModel, ctx, *failure, Clock::now() - started);
            if (!failure->retryable || retries >= retry.attempts) break;
            // Retry-After longer than retry.max_wait_ms, or a wait past
            // timeout.request_ms: the next candidate may serve sooner.
            const auto wait = retryWait(retry, retries + 1, failure->retryAfter, jitterUnit(), std::chrono::system_clock::now());
            if (!wait || Clock::now() + *wait >= terms.deadline) break;
            _metrics.counter("sluice_retries_total", "Attempts tried again on the same backend and model, by why the last failed.",
                             {{"backend", backend.name}, {"reason", std::string(outcomeLabel(failure->kind))}})
                .inc();
            ctx.retries++;
            const auto paused = pauseBeforeRetry(client, *wait);
            if (paused == PauseEnd::ClientGone) {
                ctx.outcome = Outcome::ClientCancel;
                ctx.status = 499;
                return;
            }
            if (paused == PauseEnd::Draining) {
                // The drain deadline passed while waiting: no backend is asked now.
                ctx.outcome = Outcome::UpstreamError;
                ctx.status = 503;
                ctx.responseHeaders.emplace_back("Retry-After", "1");
                client.sendWhole(503, "application/json",
                                 errorBody(ctx.route.protocol, 503, "the gateway is shutting down", "shutting_down"));
                return;
            }
        }
        if (failure->broken) broken = std::move(failure->broken);
        last = failure;
        lastBackend = backend.name;
        ruleOut(*failure, pair);
    }

    if (broken) {
        // No candidate continued it: the client hears the first break, not
        // a continuation's refusal, and the stream ends as it always has.
        client.writeStream(broken->dialect->streamErrorFrame(broken->failure, "upstream_stream_failed"));
        client.endStream();
        ctx.outcome = Outcome::UpstreamError;
        ctx.usage = broken->usage;
        return;
    }

    // Nothing served it: one answer that names no backend, host or URL.
    const auto answer = answerForFailure(last, protocolMismatch, ctx);
    ctx.outcome = answer.outcome;
    ctx.status = answer.status;
    if (!answer.retryAfter.empty()) ctx.responseHeaders.emplace_back("Retry-After", answer.retryAfter);
    client.sendWhole(answer.status, "application/json", errorBody(ctx.route.protocol, answer.status, answer.message, answer.code));
}

void Forwarder::noteFailure(const ForwardingServices& services, Upstream& upstream, const std::string& servedModel,
                            const RequestContext& ctx, const Failure& failure, std::chrono::steady_clock::duration took) {
    const auto& backend = upstream.backend();
    services.log.warning("request %s: backend %s failed (%s)", ctx.requestId, backend.name, failure.detail);
    upstream.metrics.outcome(failure.kind).inc();
    // The request's own budget ran out: nothing is learnt about the model.
    if (failure.requestDeadline) return;
    // A timeout is the slowest answer of all: without this sample a backend
    // that only ever times out would stay "not yet timed", the latency
    // router's first choice.
    if (failure.kind == UpstreamOutcome::Timeout) services.health.recordFirstByte(backend.name, servedModel, took);
    // A 404 says the model is not there, and a declined request says the
    // request does not fit the model: neither says anything is unwell.
    // A backend that cannot be reached, or refuses our credential, fails as
    // a whole; anything else is one model failing on it, whose circuit must
    // not push the backend's other models down the plans.
    if (failure.kind != UpstreamOutcome::ModelNotFound && failure.kind != UpstreamOutcome::Declined) {
        const auto error = std::string(outcomeLabel(failure.kind)) + ": " + healthSafe(failure.detail, backend, "(detail withheld)");
        if (failure.wholeBackend || failure.kind == UpstreamOutcome::UpstreamAuth) services.health.recordFailure(backend.name, error);
        else services.health.recordModelFailure(backend.name, servedModel, error);
    }
}

void Forwarder::countFailover(RequestContext& ctx, const std::string& from, const std::string& to, std::string_view reason) {
    ctx.failovers++;
    _metrics.counter("sluice_failover_total", "Times a request moved on from a failed backend to the next candidate.",
                     {{"from", from}, {"to", to}, {"reason", std::string(reason)}})
        .inc();
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
