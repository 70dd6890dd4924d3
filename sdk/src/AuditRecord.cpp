#include "sluice/AuditRecord.h"

#include <array>

namespace sluice {

namespace {
constexpr std::array kOutcomes{Outcome::Ok,         Outcome::RefusedAuth,   Outcome::RefusedLimit, Outcome::RefusedPolicy,
                               Outcome::BadRequest, Outcome::UpstreamError, Outcome::ClientCancel, Outcome::InternalError};
} // namespace

const char* outcomeName(Outcome outcome) {
    switch (outcome) {
    case Outcome::Ok: return "ok";
    case Outcome::RefusedAuth: return "refused-auth";
    case Outcome::RefusedLimit: return "refused-limit";
    case Outcome::RefusedPolicy: return "refused-policy";
    case Outcome::BadRequest: return "bad-request";
    case Outcome::UpstreamError: return "upstream-error";
    case Outcome::ClientCancel: return "client-cancel";
    case Outcome::InternalError: return "internal-error";
    }
    return "unknown";
}

std::optional<Outcome> outcomeFromName(std::string_view name) {
    for (const auto outcome : kOutcomes)
        if (name == outcomeName(outcome)) return outcome;
    return std::nullopt;
}

} // namespace sluice
