#pragma once
// Error answers in the client's own protocol shape, so every client library
// surfaces the message the way it surfaces a real backend's error.

#include <string>

#include "sluice/Route.h"

namespace sluice::kernel {

// Ollama: {"error":"message"}. OpenAI: {"error":{"message","type","param","code"}}.
// `code` may be empty; OpenAI's `type` follows from the status.
std::string errorBody(Protocol protocol, int status, const std::string& message, const std::string& code = {});

// The same error as one line inside an NDJSON stream, or one SSE event,
// for a stream that fails after its first byte reached the client.
std::string streamErrorFrame(Protocol protocol, const std::string& message, const std::string& code);

// OpenAI's error type for a status (invalid_request_error, authentication_error, …).
std::string openAiErrorType(int status);

} // namespace sluice::kernel
