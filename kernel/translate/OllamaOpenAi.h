#pragma once
// Ollama's native API in front of an OpenAI-compatible provider: the request
// an Ollama client sent, rewritten as the provider's request, and the
// provider's whole answer rewritten as the answer the Ollama client expects.
// Pure functions of JSON, no I/O. Streams are translated by StreamTranslator.
//
// What has no counterpart is dropped, never guessed: keep_alive, context, raw,
// think, suffix, template, and options OpenAI lacks (top_k, num_ctx, …) on the
// way in; load and eval durations and generate's "context" on the way out.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sluice/Route.h"

namespace sluice::kernel {

// The Ollama calls that have an OpenAI equivalent. /api/show has none.
enum class OllamaCall { Chat, Generate, Embed, Embeddings };

// The call a route is when it can be translated; nullopt for every other route.
std::optional<OllamaCall> translatableCall(RouteKind kind);

// The provider's path for the call, after its API base ("…/v1"):
// "/chat/completions" for chat and generate, "/embeddings" for both embeddings.
std::string_view openAiPath(OllamaCall call);

// The OpenAI request for an Ollama request. `model` is the name the provider
// knows the model by; `stream` is whether the client wants a stream (decided
// by the front, with Ollama's default of true).
nlohmann::json toOpenAiRequest(OllamaCall call, const nlohmann::json& ollama, const std::string& model, bool stream);

// The Ollama answer (one JSON object, serialized) for a provider's whole
// answer, or nullopt when `openAi` is not an answer to that call: the backend
// then failed. `model` is the served model's name; `totalDuration` becomes
// total_duration.
std::optional<std::string> toOllamaAnswer(OllamaCall call, const nlohmann::json& openAi, const std::string& model,
                                          std::chrono::nanoseconds totalDuration);

// What /api/show answers for a model served by an OpenAI-compatible backend:
// such a provider has no modelfile to show, but Ollama clients (ollama run,
// Open WebUI) ask before they chat, so the gateway answers the shape with
// what it knows: the name, a chat-capable model, no local details.
nlohmann::json ollamaShowFor(const std::string& model);

// Building blocks StreamTranslator shares.

// Ollama's created_at: RFC 3339 in UTC with nanoseconds.
std::string ollamaTimestamp(std::chrono::system_clock::time_point when);
// Ollama's done_reason for an OpenAI finish_reason: "length" stays, every
// other reason (stop, tool_calls, content_filter, none) is "stop", as Ollama
// itself reports a turn that ended in tool calls.
std::string ollamaDoneReason(const nlohmann::json& finishReason);
// One OpenAI tool call ({"id","type","function":{"name","arguments":"<JSON text>"}})
// as Ollama's ({"id","function":{"name","arguments":{…}}}). Arguments that are
// not a JSON object stay as the provider's text.
nlohmann::ordered_json ollamaToolCall(const std::string& id, const std::string& name, const std::string& arguments);

} // namespace sluice::kernel
