#pragma once
// What a client was sent, kept for the audit's prompt log (for principals with
// prompt logging on, by CapturingChannel), up to a limit. The text is
// extracted later, on the audit writer's thread.

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::kernel {

struct AnswerCapture {
    std::size_t limit = 0;  // audit.max_prompt_bytes
    std::string bytes;

    void append(std::string_view delivered) {
        if (bytes.size() < limit) bytes.append(delivered.substr(0, limit - bytes.size()));
    }
};

// The answer's text from what the client received: a whole JSON answer
// (Ollama's message.content or response, OpenAI's choices' message.content or
// text, Anthropic's text content, a Response's output_text), or a stream's
// content deltas (NDJSON lines, SSE data events, Anthropic's text_delta, the
// Responses API's output_text.delta) concatenated. A frame cut by the
// capture limit is left out.
std::string answerText(std::string_view delivered);

// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
void cutUtf8(std::string& text, std::size_t limit);

} // namespace sluice::kernel
