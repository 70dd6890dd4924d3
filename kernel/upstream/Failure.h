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
};

inline Failure failureFrom(const UpstreamError& error) {
    switch (error.kind()) {
    case UpstreamError::Kind::Connect: return {UpstreamOutcome::ConnectError, error.what(), {}};
    case UpstreamError::Kind::Timeout: return {UpstreamOutcome::Timeout, error.what(), {}};
    default: return {UpstreamOutcome::Broken, error.what(), {}};
    }
}

} // namespace sluice::kernel
