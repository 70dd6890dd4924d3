#pragma once
// Error answers in the client's own protocol shape, so every client library
// surfaces the message the way it surfaces a real backend's error.

#include <string>

#include "sluice/Route.h"

namespace sluice::kernel {

// Ollama: {"error":"message"}. OpenAI (Chat Completions and Responses):
// {"error":{"message","type","param","code"}}. Anthropic:
// {"type":"error","error":{"type","message"}}. `code` may be empty; the
// `type` follows from the status.
std::string errorBody(Protocol protocol, int status, const std::string& message, const std::string& code = {});

// The same error as one line inside an NDJSON stream, or one SSE event,
// for a stream that fails after its first byte reached the client.
std::string streamErrorFrame(Protocol protocol, const std::string& message, const std::string& code);

// OpenAI's error type for a status (invalid_request_error, authentication_error, …).
std::string openAiErrorType(int status);
// Anthropic's (invalid_request_error, not_found_error, overloaded_error, …).
std::string anthropicErrorType(int status);

} // namespace sluice::kernel
