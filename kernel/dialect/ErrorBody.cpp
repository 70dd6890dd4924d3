#include "ErrorBody.h"

#include <nlohmann/json.hpp>

#include "translate/ResponsesStreamTranslator.h"

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

std::string anthropicErrorType(int status) {
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: case 529: return "overloaded_error";  // Anthropic's "try again later", as Ollama maps it
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

nlohmann::json anthropicError(int status, const std::string& message) {
    return {{"type", "error"}, {"error", {{"type", anthropicErrorType(status)}, {"message", message}}}};
}
} // namespace

std::string errorBody(Protocol protocol, int status, const std::string& message, const std::string& code) {
    switch (protocol) {
    case Protocol::OpenAI:
    case Protocol::OpenAIResponses: return dumpLenient(openAiError(status, message, code));
    case Protocol::Anthropic: return dumpLenient(anthropicError(status, message));
    case Protocol::Ollama:
    case Protocol::Sluice: break;
    }
    return dumpLenient(nlohmann::json{{"error", message}});
}

std::string streamErrorFrame(Protocol protocol, const std::string& message, const std::string& code) {
    switch (protocol) {
    // OpenAI clients raise an APIError for a data event whose JSON has "error".
    case Protocol::OpenAI: return "data: " + dumpLenient(openAiError(502, message, code)) + "\n\n";
    // Anthropic's SDK raises the error of an `error` event.
    case Protocol::Anthropic: return "event: error\ndata: " + dumpLenient(anthropicError(502, message)) + "\n\n";
    // The Responses API's error event and response.failed, which its SDKs
    // raise. The sequence number is the stream's to count: a filter that
    // knows it gives its own failure frame (StreamFilter::failureFrame).
    case Protocol::OpenAIResponses: return responsesFailedEvents(message, code);
    case Protocol::Ollama:
    case Protocol::Sluice: break;
    }
    return dumpLenient(nlohmann::json{{"error", message}}) + "\n";
}

} // namespace sluice::kernel
