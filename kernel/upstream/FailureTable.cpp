#include "FailureTable.h"

namespace sluice::kernel {

FailureAnswer answerForFailure(const std::optional<Failure>& last, bool protocolMismatch, const RequestContext& ctx) {
    if (!last) {
        if (protocolMismatch)
            return {400, Outcome::BadRequest,
                    "model '" + ctx.model + "' cannot be served through " + std::string(ctx.route.name) +
                        ": the backends that host it speak another API (an openai backend serves /v1/chat/completions; "
                        "an anthropic backend /v1/messages)",
                    "unsupported_protocol", {}};
        // Every candidate's circuit was open, or none had an upstream.
        return {503, Outcome::UpstreamError, "no backend could serve the request", "upstream_unavailable", {}};
    }
    switch (last->kind) {
    case UpstreamOutcome::ConnectError:
        return {502, Outcome::UpstreamError, "the backend is unreachable", "upstream_unavailable", {}};
    case UpstreamOutcome::Timeout:
        return {504, Outcome::UpstreamError, "the backend timed out", "upstream_timeout", {}};
    case UpstreamOutcome::Status5xx:
    case UpstreamOutcome::Broken:
        return {502, Outcome::UpstreamError, "the backend failed", "upstream_error", {}};
    case UpstreamOutcome::UpstreamAuth:
        return {502, Outcome::UpstreamError, "the backend refused the gateway's credentials", "upstream_auth", {}};
    case UpstreamOutcome::Status429:
        return {429, Outcome::UpstreamError, "the backends are busy, retry later", "rate_limit_exceeded",
                last->retryAfter.empty() ? "1" : last->retryAfter};
    case UpstreamOutcome::ModelNotFound:
        return {404, Outcome::UpstreamError,
                ctx.route.protocol == Protocol::OpenAI ? "The model '" + ctx.model + "' does not exist"
                                                       : "model \"" + ctx.model + "\" not found, try pulling it first",
                "model_not_found", {}};
    case UpstreamOutcome::Declined:
        // The alias's last entry declined it too: the client hears the backend's own words.
        return {last->clientStatus, Outcome::BadRequest, last->clientMessage, last->clientCode, {}};
    case UpstreamOutcome::Ok: break;  // a Failure is never Ok
    }
    return {503, Outcome::UpstreamError, "no backend could serve the request", "upstream_unavailable", {}};
}

} // namespace sluice::kernel
