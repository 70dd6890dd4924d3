#pragma once
// The one table from how a request's candidates failed to the answer its
// client gets when none served: a status and a message that name no
// backend, host, URL or token (docs/architecture.md, "When nothing serves").

#include <optional>
#include <string>

#include "Failure.h"
#include "sluice/RequestContext.h"

namespace sluice::kernel {

struct FailureAnswer {
    int status;
    Outcome outcome;
    std::string message;
    std::string code;
    std::string retryAfter;  // empty: no Retry-After header
};

// `last`: the last candidate's failure, nullopt when no candidate was tried.
// `protocolMismatch`: a candidate was skipped because its backend cannot
// serve the route's protocol.
FailureAnswer answerForFailure(const std::optional<Failure>& last, bool protocolMismatch, const RequestContext& ctx);

} // namespace sluice::kernel
