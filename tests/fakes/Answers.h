#pragma once
// The deterministic content of the fake's answers and the two protocols' error
// shapes. Kept free of I/O so every route builds the same words, counts and
// vectors for the same request, which is what lets tests assert exact values.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::fake {

// Which wire format a route speaks: decides the shape of errors.
enum class Protocol { Ollama, OpenAi, Anthropic };

constexpr int embeddingDimension = 8;

// The words of "Hello from NAME. This is a streamed answer." split into
// `chunks` pieces whose concatenation is the answer. With more chunks than
// words the sentence repeats (space-joined) until every piece holds a word.
// skipWords > 0 continues an assistant prefill of that many words: the same
// pieces with their first skipWords words left out (a piece left empty is not
// sent), each word still after its space, so prefill + continuation is the
// text of the uninterrupted answer. Skipping every word gives no piece.
std::vector<std::string> answerPieces(const std::string& backendName, int chunks, int skipWords = 0);
std::string joinPieces(const std::vector<std::string>& pieces);
// `text` cut into min(pieces, code points) pieces of near-equal length, never
// inside a UTF-8 sequence; their concatenation is `text`.
std::vector<std::string> splitText(const std::string& text, int pieces);

// Whitespace-separated words: the fake's notion of a token.
int countWords(const std::string& text);
// Words in every message's content (a string, or an array of {"text":…} parts).
int countMessageWords(const nlohmann::json& messages);
// The words of an assistant prefill, when the chat's last message is one: role
// "assistant", no tool_calls, content a string or an array of parts (the words
// of its "type":"text" parts, summed as countMessageWords does). Empty content
// is a prefill of 0 words; null or absent content (a tool-call turn) is none.
std::optional<int> prefillWords(const nlohmann::json& messages);
// Words in a prompt/input that is a string or an array of strings.
int countInputWords(const nlohmann::json& input);

// A unit-length vector of embeddingDimension floats derived from the text.
std::vector<float> embeddingOf(const std::string& text);
// Little-endian float32 bytes in base64, as OpenAI's encoding_format "base64".
std::string base64OfFloats(const std::vector<float>& values);

// "PREFIX" + a number unique in this process: ids of answers and tool calls.
std::string newId(const std::string& prefix);
// One server-sent event: "data: JSON\n\n", or with a name "event: NAME\ndata: JSON\n\n".
std::string sseEvent(const nlohmann::json& data);
std::string sseEvent(const std::string& name, const nlohmann::json& data);

std::uint64_t fnv1a(const std::string& text, std::uint64_t seed = 0);
std::string rfc3339Now(long long offsetSeconds = 0);
long long unixNow();

// {"error":"…"} for Ollama, {"error":{"message","type","param","code"}} for OpenAI,
// {"type":"error","error":{"type","message"},"request_id"} for Anthropic (type by
// status). An empty code picks the usual one for the status.
nlohmann::json errorBody(Protocol protocol, int status, const std::string& message,
                         const std::string& code = {}, const std::string& param = {});

}  // namespace sluice::fake
