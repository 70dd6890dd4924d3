#pragma once
// What the fake answers a chat request that offers tools, returns a tool's
// result or asks for JSON: the same deterministic rules for all four chat APIs
// (Ollama /api/chat, OpenAI chat completions, Anthropic messages, OpenAI
// responses), so a test can assert a tool call's arguments or a round trip's
// text exactly. Each API reads its request into a ChatAsk and writes the
// resulting Reply in its own shape; README.md states the rules.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::fake {

// A function the request offers the model.
struct OfferedTool {
    std::string name;
    nlohmann::json schema;  // JSON schema of the arguments (may be null or malformed)
};

// The parts of a chat request that decide the kind of answer.
struct ChatAsk {
    std::vector<OfferedTool> tools;        // callable functions, in the order offered
    std::optional<std::string> namedTool;  // tool_choice names one
    bool toolsRefused = false;             // tool_choice "none"
    std::optional<std::string> toolResult;  // the last message is a tool result: its text
    // Structured output: the schema, or null for "any JSON object" (json_object / "json").
    std::optional<nlohmann::json> jsonSchema;
    // The last message is an assistant prefill of this many words (prefillWords).
    std::optional<int> prefillWords;
};

// One call of a tool, with its arguments as an object and as the text pieces
// a stream sends them in (at least two).
struct ToolCall {
    std::string name;
    nlohmann::json arguments;
    std::vector<std::string> argumentPieces;

    std::string argumentsText() const { return arguments.dump(); }
};

// The fake's answer: text pieces, or one tool call.
struct Reply {
    std::vector<std::string> pieces;  // empty for a tool call
    std::optional<ToolCall> toolCall;

    std::string text() const;
    // Output tokens: the pieces the answer streams in (text pieces, or argument pieces).
    int completionTokens() const;
};

// The rules, in order: a tool result → "Tool said: <result>"; offered tools
// (unless refused) → one call of the named or first tool; JSON asked → an
// object built from the schema; otherwise the usual sentence (answerPieces),
// continued after the prefill's words when the chat ends with one. Text
// answers come in `chunks` pieces.
Reply planReply(const ChatAsk& ask, const std::string& backendName, int chunks);

// A value for a schema: enum → first value, const → it, string → "sluice",
// number/integer → 42, boolean → true, array → [], object → {}, else null.
nlohmann::json valueForSchema(const nlohmann::json& schema);
// An object with every required property (or every property when none are
// required) filled by valueForSchema.
nlohmann::json objectForSchema(const nlohmann::json& schema);

// The request readers, one per API.
ChatAsk askOfOllamaChat(const nlohmann::json& body);
ChatAsk askOfOpenAiChat(const nlohmann::json& body);
ChatAsk askOfAnthropicMessages(const nlohmann::json& body);
ChatAsk askOfResponses(const nlohmann::json& body);

// The text of message content that is a string or an array of parts with "text".
std::string textOfContent(const nlohmann::json& content);

}  // namespace sluice::fake
