#pragma once
// OpenAI's Responses API (POST /v1/responses: Codex CLI, the openai SDK's
// responses.create, LangChain with useResponsesApi, the Vercel AI SDK's
// @ai-sdk/openai) in front of a backend that serves Chat Completions: the
// client's request checked and rewritten as a chat request, and the backend's
// whole answer rewritten as a Response object. Pure functions of JSON, no I/O.
// Streams are translated by ResponsesStreamTranslator. The request's way is
// ResponsesOpenAi.cpp, the answer's way back ResponsesAnswer.cpp.
//
// Sluice stores no responses, so nothing that needs stored state is served:
// previous_response_id (the dialect decides: continuesPreviousResponse) and
// item_reference input items are refused; store is reported false. What has
// no Chat Completions counterpart is dropped, never guessed:
// - hosted tools (web_search, file_search, computer_use, code_interpreter,
//   image_generation, mcp, local_shell, custom, …): OpenAI runs them on its
//   own servers; a chat backend can only call functions the client runs;
// - reasoning input items: their encrypted_content is only readable by
//   OpenAI, and a chat backend takes no reasoning in its messages;
// - metadata, store, truncation, include, service_tier, background,
//   prompt_cache_key, safety_identifier: they steer OpenAI's own service;
// - images in a function_call_output: a chat tool message carries text only.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ChatEvents.h"

namespace sluice::kernel {

// The first thing wrong with a Responses request body, as a message the
// client can act on (the gateway answers 400 in OpenAI's error shape), or
// nullopt when the body can be translated. previous_response_id is checked
// for its type only; whether it may be used is the dialect's decision.
std::optional<std::string> responsesRequestProblem(const nlohmann::json& body,
                                                   RequestCheck check = RequestCheck::Translation);

// Whether the request continues a stored response (previous_response_id is a
// non-empty string): a stateless gateway cannot translate that.
bool continuesPreviousResponse(const nlohmann::json& body);

// The Chat Completions request for a checked Responses request. `model` is
// the name the backend knows the model by; `stream` is whether the client
// asked for a stream.
nlohmann::json chatRequestForResponses(const nlohmann::json& request, const std::string& model, bool stream);

// The Response object (serialized) for a backend's whole chat completion, or
// nullopt when `completion` is not one: the backend then failed. `request`
// is the client's, for the fields a Response echoes; `model` is reported.
std::optional<std::string> responsesAnswerFor(const nlohmann::json& completion, const nlohmann::json& request,
                                              const std::string& model);

// Building blocks ResponsesStreamTranslator shares.

// A fresh id with OpenAI's prefix for its kind: "resp_", "msg_", "fc_", "rs_".
std::string responsesId(std::string_view prefix);

// The Response object with every field OpenAI reports, echoing the request's
// settings or OpenAI's defaults: `output` empty and `usage` null, for the
// caller to fill. `status`: in_progress, completed, incomplete or failed.
nlohmann::ordered_json responseObject(const nlohmann::json& request, const std::string& model, const std::string& id,
                                      std::int64_t createdAt, std::string_view status);

// A chat completion's usage as a Response's, or null when `chatUsage` is not an object.
nlohmann::ordered_json responsesUsage(const nlohmann::json& chatUsage);

// Why a Response is incomplete for a chat finish_reason: "max_output_tokens"
// for length, "content_filter" for content_filter; nullopt when it is whole.
std::optional<std::string> incompleteReason(std::string_view finishReason);

} // namespace sluice::kernel
