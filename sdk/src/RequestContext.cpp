#include "sluice/RequestContext.h"

namespace sluice {

RequestContext::RequestContext() : startedAt(std::chrono::steady_clock::now()) {}
RequestContext::~RequestContext() = default;

const std::string* RequestContext::header(const std::string& lowerCaseName) const {
    for (const auto& [name, value] : headers)
        if (name == lowerCaseName) return &value;
    return nullptr;
}

void RequestContext::refuse(int replyStatus, std::string message, std::string code) {
    reply.status = replyStatus;
    reply.message = std::move(message);
    reply.code = std::move(code);
}

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

} // namespace sluice
