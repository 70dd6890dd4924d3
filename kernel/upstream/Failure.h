#pragma once
// Why a candidate did not serve a request. The forwarder logs it, counts it
// against the backend, and the last one decides the client's answer when no
// candidate serves (FailureTable).

#include <string>

#include "Upstream.h"
#include "UpstreamError.h"

namespace sluice::kernel {

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
};

// `answered`: a byte of the answer had arrived when the error came.
inline Failure failureFrom(const UpstreamError& error, bool answered) {
    switch (error.kind()) {
    case UpstreamError::Kind::Connect: return {UpstreamOutcome::ConnectError, error.what(), {}, true};
    case UpstreamError::Kind::Timeout: return {UpstreamOutcome::Timeout, error.what(), {}, false};
    case UpstreamError::Kind::Closed: return {UpstreamOutcome::Broken, error.what(), {}, !answered};
    default: return {UpstreamOutcome::Broken, error.what(), {}, false};
    }
}

} // namespace sluice::kernel
