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

} // namespace sluice
