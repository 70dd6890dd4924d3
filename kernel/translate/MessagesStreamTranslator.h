#pragma once
// Turns an OpenAI chat-completion stream (SSE events) into the SSE stream an
// Anthropic Messages client reads: message_start and a ping at the first
// answer content, then one content block at a time (thinking, text, or one
// tool_use per call, whose arguments stream as input_json_delta pieces), each
// opened, filled and closed with increasing index, and at [DONE]
// message_delta (stop_reason and the usage chunk's token counts) and
// message_stop. Every event is "event: <type>\ndata: <JSON>\n\n".
// It does no I/O: the relay feeds it complete events, in order, and writes
// what it appends. Thread: one request's.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "dialect/Dialect.h"

namespace sluice::kernel {

class MessagesStreamTranslator final : public StreamFilter {
public:
    // model: the name the client asked for, reported in message_start.
    explicit MessagesStreamTranslator(std::string model);

    // Quiet until the first event with answer content; then message_start,
    // ping and the first block come with it, and the step is Answer.
    Step take(std::string_view frame, std::string& out) override;
    bool finish(std::string& out) override;
    const Usage& usage() const override { return _usage; }
    const std::string& error() const override { return _error; }

private:
    enum class Block { None, Thinking, Text, ToolUse };

    // The tool call being streamed. Its block opens once it has a name
    // (OpenAI sends the name in a call's first piece; a few providers later).
    struct PendingCall {
        std::size_t slot = 0;  // the call's index in OpenAI's deltas
        std::string id;
        std::string name;
        std::string arguments;  // pieces that came before the block opened
        bool opened = false;
    };

    void takeChoice(const nlohmann::json& choice, std::string& out);
    void takeToolCall(const nlohmann::json& call, std::string& out);
    void appendDelta(const nlohmann::ordered_json& delta, std::string& out);  // to the open block
    void openBlock(Block kind, nlohmann::ordered_json contentBlock, std::string& out);
    void closeBlock(std::string& out);
    void appendStart(std::string& out);
    void appendEnd(std::string& out);

    std::string _model;
    std::string _messageId;  // the provider's completion id, once a chunk named it
    bool _started = false;   // message_start was appended
    Block _open = Block::None;
    int _index = -1;  // the open block's, or the last one's
    std::optional<PendingCall> _call;  // the tool call being streamed
    bool _madeToolCalls = false;
    nlohmann::json _finishReason;  // null until the choice ends
    Usage _usage;
    std::string _error;
    bool _done = false;
};

} // namespace sluice::kernel
