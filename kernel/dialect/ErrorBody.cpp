#include "ErrorBody.h"

#include <nlohmann/json.hpp>

namespace sluice::kernel {

std::string openAiErrorType(int status) {
    switch (status) {
    case 400: case 404: case 405: case 413: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 429: return "rate_limit_exceeded";
    case 503: return "service_unavailable";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

namespace {
// Messages may quote client input (a path, a model name) that is not valid
// UTF-8: replace such bytes rather than fail to answer at all.
std::string dumpLenient(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json openAiError(int status, const std::string& message, const std::string& code) {
    return {{"error",
             {{"message", message},
              {"type", openAiErrorType(status)},
              {"param", nullptr},
              {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)}}}};
}
} // namespace

std::string errorBody(Protocol protocol, int status, const std::string& message, const std::string& code) {
    if (protocol == Protocol::OpenAI) return dumpLenient(openAiError(status, message, code));
    return dumpLenient(nlohmann::json{{"error", message}});
}

std::string streamErrorFrame(Protocol protocol, const std::string& message, const std::string& code) {
    // OpenAI clients raise an APIError for a data event whose JSON has "error".
    if (protocol == Protocol::OpenAI) return "data: " + dumpLenient(openAiError(502, message, code)) + "\n\n";
    return dumpLenient(nlohmann::json{{"error", message}}) + "\n";
}

} // namespace sluice::kernel
