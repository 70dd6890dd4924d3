#pragma once
// Why a candidate did not serve a request. The forwarder logs it, counts it
// against the backend, and the last one decides the client's answer when no
// candidate serves (FailureTable).

#include <optional>
#include <string>

#include "Upstream.h"
#include "UpstreamError.h"
#include "sluice/RequestContext.h"

namespace sluice::kernel {

class Dialect;

// A streamed answer that broke after its first frame and is kept open for
// another candidate to continue (aliases.NAME.continue_streams;
// docs/routing.md, "Continuing a broken stream").
struct BrokenStream {
    const Dialect* dialect = nullptr;  // of the part that opened the stream: the error frame's shape
    std::string failure;               // the first break: what the client hears if nothing continues it
    std::string text;                  // the answer text the client has been sent, every part's
    Usage usage;                       // what every part so far spent
};

struct Failure {
    UpstreamOutcome kind;    // never Ok
    std::string detail;      // for logs only: may name the backend
    std::string retryAfter;  // from a 429
    // The backend itself failed, not this model on it: no connection (refused,
    // unreachable, TLS), or one reset before any answer byte. None of the
    // backend's candidates is tried again for this request. Every other
    // failure (a timeout, a 5xx, a 429, a broken answer) rules out only the
    // (backend, model) candidate: the backend may serve its other models.
    bool wholeBackend = false;
    // Worth trying again on the same candidate (RetryPolicy): a 429, 500,
    // 502 or 503, or a connection reset before any answer byte.
    bool retryable = false;
    // For a client error an alias falls back on (aliases.NAME.fallback_on):
    // what the client is told if no later entry serves. Client-safe.
    int clientStatus = 0;
    std::string clientMessage{};
    std::string clientCode{};
    // Set when a stream broke after its first frame and was left open for a
    // continuation: the client's stream is started and not yet ended.
    std::optional<BrokenStream> broken{};
    // A timeout cut short by timeout.request_ms: the request's budget ran
    // out, which says nothing of the model (no circuit failure, no latency sample).
    bool requestDeadline = false;
    // The backend is full, not unwell: a 429, or Ollama's 503 "server busy"
    // (its own queue, OLLAMA_MAX_QUEUE, is full). No circuit failure; its
    // usable slots shrink for a while (docs/capacity.md).
    bool saturated = false;
};

// A failure the backend answered with an HTTP status.
inline Failure statusFailure(UpstreamOutcome kind, int status, std::string retryAfter = {}) {
    Failure failure{kind, "answered " + std::to_string(status), std::move(retryAfter)};
    failure.retryable = status == 429 || status == 500 || status == 502 || status == 503;
    return failure;
}

// `answered`: a byte of the answer had arrived when the error came.
inline Failure failureFrom(const UpstreamError& error, bool answered) {
    Failure failure{UpstreamOutcome::Broken, error.what(), {}};
    switch (error.kind()) {
    case UpstreamError::Kind::Connect:
        failure.kind = UpstreamOutcome::ConnectError;
        failure.wholeBackend = true;
        break;
    case UpstreamError::Kind::Timeout: failure.kind = UpstreamOutcome::Timeout; break;
    case UpstreamError::Kind::Closed:
        // A reset before any answer byte: the backend dropped the request
        // (a restart, an overloaded accept queue); worth one more try.
        failure.wholeBackend = failure.retryable = !answered;
        break;
    default: break;
    }
    return failure;
}

} // namespace sluice::kernel
