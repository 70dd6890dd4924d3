#include "Forwarder.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include <Poco/Logger.h>

#include "Attempt.h"
#include "capacity/Capacity.h"
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

namespace {
// The model a candidate is asked for: its own name for it, else the request's.
std::string servedModelOf(const Candidate& candidate, const RequestContext& ctx) {
    return candidate.upstreamModel.empty() ? ctx.model : candidate.upstreamModel;
}

// A 503 the gateway gives itself (shutting down, no backend slot), with
// Retry-After, in the request's protocol's shape.
void answerUnavailable(RequestContext& ctx, ClientChannel& client, Outcome outcome, const char* message, const char* code) {
    ctx.outcome = outcome;
    ctx.status = 503;
    ctx.responseHeaders.emplace_back("Retry-After", "1");
    client.sendWhole(503, "application/json", errorBody(ctx.route.protocol, 503, message, code));
}

// A wait (a retry's pause, the queue) that ended the request: the client
// went (it never reaches a backend), or the drain deadline passed (no
// backend is asked now). False when the request goes on.
bool endedByWait(WaitEnd end, RequestContext& ctx, ClientChannel& client) {
    if (end == WaitEnd::ClientGone) {
        ctx.outcome = Outcome::ClientCancel;
        ctx.status = 499;
        return true;
    }
    if (end == WaitEnd::Draining) {
        answerUnavailable(ctx, client, Outcome::UpstreamError, "the gateway is shutting down", "shutting_down");
        return true;
    }
    return false;
}
} // namespace

Forwarder::Forwarder(MetricsRegistry& metrics, Capacity& capacity) : _metrics(metrics), _capacity(capacity) {}

std::optional<Capacity::Granted> Forwarder::waitForSlot(const ForwardingServices& services, RequestContext& ctx,
                                                      ClientChannel& client, const std::vector<const Candidate*>& full,
                                                      Clock::time_point deadline) {
    std::vector<Capacity::Want> wants;
    wants.reserve(full.size());
    for (const auto* candidate : full) {
        const auto* upstream = services.upstream(candidate->backend);
        wants.push_back({candidate->backend, servedModelOf(*candidate, ctx), upstream->slots});
    }
    // A key's class and weight over its tenant's (sluicectl --priority, --weight).
    Capacity::Waiting who;
    if (ctx.principal) {
        const auto& p = *ctx.principal;
        who.tenant = p.tenant;
        who.priority = p.keyLimits.queuePriority.value_or(p.tenantLimits.queuePriority.value_or(Priority::Interactive));
        who.weight = static_cast<int>(p.keyLimits.queueWeight.value_or(p.tenantLimits.queueWeight.value_or(1)));
    }
    auto queued = _capacity.enqueue(std::move(wants), who, services.queue.maxDepth);
    if (queued.now) return std::move(queued.now);
    const auto since = Clock::now();
    // The wait goes into the audit record, however it ends.
    struct Counted {
        RequestContext& ctx;
        Clock::time_point since;
        ~Counted() { ctx.queueMs += std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count(); }
    } counted{ctx, since};
    auto shed = [&](const char* code, const char* message) {
        _metrics.counter("sluice_requests_shed_total", "Requests answered 503 for want of a backend slot, by why.",
                         {{"reason", code}})
            .inc();
        answerUnavailable(ctx, client, Outcome::RefusedLimit, message, code);
    };
    if (queued.full) {
        shed("queue_full", "every backend for this model is busy and the queue is full; retry shortly");
        return std::nullopt;
    }
    const auto end = awaitReadable(client, queued.ticket->fd(), deadline);
    auto granted = _capacity.leave(*queued.ticket);
    // Ended: a slot granted meanwhile goes on to the next waiter.
    if (endedByWait(end, ctx, client)) return std::nullopt;
    if (granted) return granted;
    shed("queue_timeout", "every backend for this model stayed busy for queue.max_wait_ms; retry shortly");
    return std::nullopt;
}

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
    // Candidates whose backend (or model on it) was at its slots when their
    // turn came: asked again, through the queue, once the others are done.
    std::vector<const Candidate*> full;
    std::map<const Candidate*, int> requeues;  // saturated answers sent back to the queue, per candidate
    // One bound on the whole wait in the queue, however many times it queues.
    std::optional<Clock::time_point> queueDeadline;
    enum class Step { Next, Stop, Answered };
    // One candidate's turn; `granted` is a slot the queue gave it.
    auto tryCandidate = [&](const Candidate& candidate, Capacity::Lease* granted) -> Step {
        auto* upstream = services.upstream(candidate.backend);
        if (!upstream) return Step::Next;
        const auto& backend = upstream->backend();
        if (std::find(downBackends.begin(), downBackends.end(), backend.name) != downBackends.end()) return Step::Next;
        const auto* dialect = dialectFor(ctx.route, backend);
        if (!dialect) {
            protocolMismatch = true;
            return Step::Next;
        }
        const std::string servedModel = servedModelOf(candidate, ctx);
        const std::pair<std::string, std::string> pair{backend.name, servedModel};
        if (std::find(failedCandidates.begin(), failedCandidates.end(), pair) != failedCandidates.end()) return Step::Next;
        // A generation holds one of the backend's slots from its send to its
        // answer's end (stream included), retries and their pauses too.
        Capacity::Lease lease = granted ? std::move(*granted) : Capacity::Lease();
        auto takeSlot = [&] {
            if (lease.held() || upstream->slots.unbounded()) return true;
            const Capacity::Want want{backend.name, servedModel, upstream->slots};
            // Shared through Redis, a take is a round trip: not on the I/O loop.
            if (!_capacity.blocking()) lease = _capacity.tryTake(want);
            else {
                try {
                    client.offLoop([&] { lease = _capacity.tryTake(want); });
                } catch (const std::exception&) {
                    // No stage thread free for the round trip: as if full (the
                    // queue's keeper will ask Redis); a continuation moves on.
                }
            }
            return lease.held();
        };
        if (broken) {
            if (drain::ended()) return Step::Stop;  // shutting down: the stream ends with its first break
            if (!backend.acceptsPrefill(servedModel)) return Step::Next;
            if (!takeSlot()) return Step::Next;  // a continuation does not queue: the client is mid-answer
            countFailover(services, ctx, lastBackend, backend.name, "continuation");
            const BodySwap swap(ctx, continuationOf(ctx.body, broken->text));
            const auto started = Clock::now();
            auto failure = Attempt(services, *upstream, *dialect, ctx, servedModel, client, continuationTerms, &*broken)
                               .run(ctx.body.dump());
            if (!failure) return Step::Answered;
            if (!failure->broken) noteFailure(services, *upstream, servedModel, ctx, *failure, Clock::now() - started);
            else broken = std::move(failure->broken);  // it broke too, after adding to the answer
            lastBackend = backend.name;
            ruleOut(*failure, pair);
            return Step::Next;
        }
        if (auto own = dialect->ownAnswer({ctx, backend, servedModel})) {
            ctx.servedBackend = backend.name;
            ctx.servedModel = servedModel;
            ctx.status = own->status;
            if (own->status >= 400) ctx.outcome = Outcome::BadRequest;
            client.sendWhole(own->status, own->contentType, own->body);
            return Step::Answered;
        }
        // timeout.request_ms bounds the whole search for an answer.
        if (Clock::now() >= terms.deadline) {
            if (!last) last = Failure{UpstreamOutcome::Timeout, "timeout.request_ms ran out", {}};
            return Step::Stop;
        }
        if (!takeSlot()) {
            full.push_back(&candidate);
            return Step::Next;
        }
        if (last) countFailover(services, ctx, lastBackend, backend.name, outcomeLabel(last->kind));
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
                return Step::Answered;
            }
            if (failure->broken) {
                // Recorded as the stream broke; the client has bytes: no retry.
                // It was served, if not to its end.
                countServed(ctx);
                break;
            }
            noteFailure(services, *upstream, servedModel, ctx, *failure, Clock::now() - started);
            // A backend with slots that says it is full: back to the queue
            // for it (its usable slots shrank), and the next candidate first.
            // Each such return spends one of the candidate's retries, so a
            // backend that always says so is given up on as any other.
            if (failure->saturated && !upstream->slots.unbounded() && requeues[&candidate]++ < retry.attempts) {
                ctx.retries++;
                full.push_back(&candidate);
                last = failure;
                lastBackend = backend.name;
                return Step::Next;
            }
            if (!failure->retryable || retries >= retry.attempts) break;
            // Retry-After longer than retry.max_wait_ms, or a wait past
            // timeout.request_ms: the next candidate may serve sooner.
            const auto wait = retryWait(retry, retries + 1, failure->retryAfter, jitterUnit(), std::chrono::system_clock::now());
            if (!wait || Clock::now() + *wait >= terms.deadline) break;
            _metrics.counter("sluice_retries_total", "Attempts tried again on the same backend and model, by why the last failed.",
                             {{"backend", backend.name}, {"reason", std::string(outcomeLabel(failure->kind))}})
                .inc();
            ctx.retries++;
            if (endedByWait(awaitReadable(client, -1, Clock::now() + *wait), ctx, client)) return Step::Answered;
        }
        if (failure->broken) broken = std::move(failure->broken);
        last = failure;
        lastBackend = backend.name;
        ruleOut(*failure, pair);
        return Step::Next;
    };

    for (const auto& candidate : ctx.plan.candidates) {
        const auto step = tryCandidate(candidate, nullptr);
        if (step == Step::Answered) return;
        if (step == Step::Stop) {
            full.clear();  // timeout.request_ms ran out, or a drain: no queueing after it
            break;
        }
    }
    // Every candidate left was at its slots: wait in the queue for the first
    // that frees, try it, and wait again for the rest while any are left.
    while (!full.empty() && !broken) {
        if (!queueDeadline) {
            queueDeadline = Clock::now() + services.queue.maxWait;
            if (services.requestTimeout.count() > 0) *queueDeadline = std::min(*queueDeadline, ctx.startedAt + services.requestTimeout);
        }
        auto waited = waitForSlot(services, ctx, client, full, *queueDeadline);
        if (!waited) return;  // answered: shed, gone, or shutting down
        const auto* candidate = full[waited->want];
        full.erase(full.begin() + static_cast<std::ptrdiff_t>(waited->want));
        const auto step = tryCandidate(*candidate, &waited->lease);
        if (step == Step::Answered) return;
        if (step == Step::Stop) break;
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
    // Full, not unwell: no circuit failure. The gateway sends it less for a
    // while (the Retry-After it gave, 1 to 30 s; else 1 s).
    if (failure.saturated) {
        _metrics.counter("sluice_backend_saturated_total", "Answers that said a backend is full: a 429, or Ollama's 503 server busy.",
                         {{"backend", backend.name}})
            .inc();
        auto pause = std::chrono::milliseconds(1000);
        if (const auto asked = parseRetryAfter(failure.retryAfter, std::chrono::system_clock::now()))
            pause = std::clamp(*asked, std::chrono::milliseconds(1000), std::chrono::milliseconds(30000));
        _capacity.saturated(backend.name, Clock::now() + pause);
        return;
    }
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

void Forwarder::countFailover(const ForwardingServices& services, RequestContext& ctx, const std::string& from, const std::string& to,
                              std::string_view reason) {
    ctx.failovers++;
    services.health.noteFailover(from);
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
