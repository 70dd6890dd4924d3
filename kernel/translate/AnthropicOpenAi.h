#pragma once
// Anthropic's Messages API (POST /v1/messages: Claude Code, @anthropic-ai/sdk)
// in front of an OpenAI-compatible provider: the client's request checked as
// Anthropic checks it, rewritten as a Chat Completions request, and the
// provider's whole answer rewritten as an Anthropic Message. Pure functions of
// JSON, no I/O. Streams are translated by MessagesStreamTranslator.
//
// What has no counterpart is dropped, never guessed. On the way in: top_k,
// thinking (the config and the thinking blocks of earlier turns: a provider
// cannot check Anthropic's signatures), cache_control, Anthropic's server
// tools (web search, bash, text editor, … run on Anthropic's side; a provider
// would expect the client to run them), and stop sequences past OpenAI's four.
// On the way out: stop_sequence is always null (OpenAI does not say which
// sequence stopped the answer), and thinking blocks carry an empty signature.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ChatEvents.h"

namespace sluice::kernel {

// The first problem of a Messages API request body, worded as Anthropic
// words it and naming the field's path ("messages.0.content.1: unknown
// content block type 'foo'"), for a 400 invalid_request_error; nullopt when
// the body is a request the translation can take. (In AnthropicRequestCheck.cpp.)
std::optional<std::string> messagesRequestProblem(const nlohmann::json& body,
                                                  RequestCheck check = RequestCheck::Translation);

// The Chat Completions request for a Messages API request that
// messagesRequestProblem() accepted. `model` is the name the provider knows
// the model by; `stream` is whether the client asked for a stream.
nlohmann::json chatRequestForMessages(const nlohmann::json& request, const std::string& model, bool stream);

// The Anthropic Message (one JSON object, serialized) for a provider's whole
// chat completion, or nullopt when `completion` is not one (no choice with a
// message): the backend then failed. `model` is the name the client asked for.
std::optional<std::string> messagesAnswerFor(const nlohmann::json& completion, const std::string& model);

// Building blocks the check, the translation and MessagesStreamTranslator share.

// Whether a tool is one of Anthropic's server tools (web search, bash, text
// editor, …, named by a versioned type) rather than the client's own
// ("custom" or untyped). (In AnthropicRequestCheck.cpp.)
bool isAnthropicServerTool(const nlohmann::json& tool);

// Anthropic's stop_reason for an OpenAI finish_reason: stop → end_turn,
// length → max_tokens, tool_calls (and the older function_call) → tool_use,
// content_filter → refusal, anything else → end_turn. A turn that made tool
// calls ended to run them, whatever else the provider says, unless it was
// cut at max_tokens.
std::string anthropicStopReason(const nlohmann::json& finishReason, bool madeToolCalls);
// The Message's id: "msg_" + the completion's id, or a random one when the
// provider sent none.
std::string anthropicMessageId(const nlohmann::json& completionId);
// A tool_use block's id: the provider's call id as it is (the client hands it
// back in tool_result.tool_use_id, which becomes tool_call_id), or a random
// "toolu_…" one when the provider sent none.
std::string anthropicToolUseId(const nlohmann::json& callId);

} // namespace sluice::kernel
