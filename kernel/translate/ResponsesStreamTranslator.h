#pragma once
// Turns an OpenAI chat-completion stream (SSE events) into the event stream a
// Responses client reads: "event: TYPE\ndata: JSON\n\n", every event with its
// type and a sequence_number counting from 0.
// - The first event with answer content opens the response (response.created,
//   response.in_progress); role-only events and comments say nothing before.
// - Reasoning deltas become a reasoning item's summary text, as Ollama's own
//   /v1/responses reports thinking; content deltas a message item's
//   output_text; each tool call a function_call item whose arguments stream
//   in pieces. A reasoning or message item closes when another item begins;
//   the function calls of a turn stay open until it ends, since a provider
//   may interleave their argument pieces.
// - At [DONE] the open items close and response.completed carries the whole
//   Response with its usage (response.incomplete when the answer hit its
//   token limit or a content filter, as OpenAI sends it).
// It does no I/O: the relay feeds it complete events, in order, and writes
// what it appends. Thread: one request's.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dialect/Dialect.h"

namespace sluice::kernel {

class ResponsesStreamTranslator final : public StreamFilter {
public:
    // request: the client's, checked (responsesRequestProblem), for the fields
    // the Response echoes. model: the name the Response reports.
    ResponsesStreamTranslator(nlohmann::json request, std::string model);

    // Quiet until the first event with answer content, which appends the
    // opening events with it and is an Answer; Done at [DONE], with the
    // closing events and response.completed appended.
    Step take(std::string_view frame, std::string& out) override;
    // For a body that ended without [DONE]: closes the response and returns
    // true if a finish_reason came; false, appending nothing, if it was cut short.
    bool finish(std::string& out) override;
    const Usage& usage() const override { return _usage; }
    const std::string& error() const override { return _error; }

    // The frames that end this stream after a failure mid-way, numbered after
    // the events already sent (see responsesFailedEvents).
    std::string failedEvents(const std::string& message, const std::string& code);
    std::optional<std::string> failureFrame(const std::string& message, const std::string& code) override {
        return failedEvents(message, code);
    }

private:
    // The reasoning or message item being streamed, if any: one at a time.
    enum class Open { Nothing, Reasoning, Text };

    struct ToolCall {
        std::size_t outputIndex = 0;
        std::string itemId;  // fc_…
        std::string callId;  // the backend's call id, which the client answers with
        std::string name;
        std::string arguments;  // JSON text, assembled from the deltas
    };

    void takeChunk(const nlohmann::json& chunk, std::string& out);
    void takeToolCall(const nlohmann::json& call, std::string& out);
    void openResponse(std::string& out);
    void startReasoning(std::string& out);
    void startText(std::string& out);
    void closeOpenItem(std::string& out);
    void closeToolCalls(std::string& out);
    void appendEnd(std::string& out);
    void emit(std::string_view type, nlohmann::ordered_json fields, std::string& out);
    std::string itemStatus() const;

    nlohmann::json _request;
    std::string _model;
    std::string _responseId;
    std::int64_t _createdAt;
    std::uint64_t _sequence = 0;
    bool _opened = false;
    bool _done = false;
    Open _open = Open::Nothing;
    std::string _openId;    // the open reasoning or message item's id
    std::string _openText;  // and its text so far
    std::vector<nlohmann::ordered_json> _output;  // by output_index; an item is final once closed
    std::map<std::size_t, ToolCall> _toolCalls;   // by the deltas' index, until the turn ends
    std::optional<std::size_t> _lastToolSlot;     // the call the last piece went to
    std::string _finishReason;                    // "" until the choice ends
    nlohmann::json _chatUsage;                    // the backend's usage object, once it came
    Usage _usage;
    std::string _error;
};

// The frames that end a Responses stream which failed after its first byte:
// an `error` event ({type, code, message, param, sequence_number}, and the
// same as a nested `error` object, which makes the openai SDK raise) and a
// `response.failed` whose response carries {code, message} (what Codex and
// the AI SDK read). `sequenceNumber` continues the stream's count when the
// caller knows it; a caller without the stream's state passes 0, which no
// client checks. An empty `code` is reported as server_error.
std::string responsesFailedEvents(const std::string& message, const std::string& code, std::uint64_t sequenceNumber = 0);

} // namespace sluice::kernel
