#pragma once
// Turns an OpenAI chat-completion stream (SSE events) into the NDJSON stream
// an Ollama client reads for /api/chat or /api/generate: one line per content
// delta, the tool calls of a turn as one line once they are complete (OpenAI
// streams their arguments in pieces, Ollama sends each call whole), and at
// [DONE] a final done:true line with done_reason and the token counts of the
// usage chunk. It does no I/O: the forwarder feeds it complete events, in
// order, and writes what it appends. Thread: one request's.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "OllamaOpenAi.h"
#include "sluice/RequestContext.h"

namespace sluice::kernel {

class StreamTranslator {
public:
    // What one event did.
    enum class Step {
        More,   // taken; the lines it made, if any, were appended
        Done,   // [DONE] arrived: the final line was appended and the stream is over
        Error,  // an error event, or one that is not JSON: nothing was appended; see error()
    };

    // call: Chat or Generate. model: the served model, named on every line.
    // started: when the request went out, for total_duration.
    StreamTranslator(OllamaCall call, std::string model, std::chrono::steady_clock::time_point started);

    // Takes one complete SSE event (as FrameSplitter yields it). Comments,
    // blank events and events after the end add nothing.
    Step take(std::string_view event, std::string& lines);
    // For a stream that ended without [DONE]: appends what is left and the
    // final line and returns true if the answer had finished (a finish_reason
    // arrived); false if it was cut short (then nothing is appended).
    bool finish(std::string& lines);

    bool done() const { return _done; }
    // The token counts, once the usage chunk arrived (reported is false before).
    const Usage& usage() const { return _usage; }
    // Why the stream failed: the provider's message, or a description of the bad event.
    const std::string& error() const { return _error; }

private:
    struct ToolCall {
        std::string id;
        std::string name;
        std::string arguments;  // JSON text, assembled from the deltas
    };

    void takeChunk(const nlohmann::json& chunk, std::string& lines);
    void appendContent(const std::string& content, std::string& lines) const;
    void appendToolCalls(std::string& lines);
    void appendFinal(std::string& lines);

    OllamaCall _call;
    std::string _model;
    std::chrono::steady_clock::time_point _started;
    std::vector<ToolCall> _toolCalls;  // by the deltas' index, until the turn ends
    std::string _finishReason;         // "" until a choice ends
    Usage _usage;
    std::string _error;
    bool _done = false;
};

} // namespace sluice::kernel
