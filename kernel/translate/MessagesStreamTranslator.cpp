#include "MessagesStreamTranslator.h"

#include "ChatEvents.h"
#include "AnthropicOpenAi.h"
#include "dialect/Usage.h"
#include "http/FrameSplitter.h"
#include "sluice/Json.h"

namespace sluice::kernel {

namespace {
using nlohmann::json;
using nlohmann::ordered_json;

// Most providers stream arguments as JSON text; a few send each call whole, as an object.
std::string argumentsOf(const json& function) {
    const auto& arguments = field(function, "arguments");
    return arguments.is_object() ? arguments.dump(-1, ' ', false, json::error_handler_t::replace) : textOf(arguments);
}

// Anthropic names each event twice: in the SSE event line and in the data's "type".
void appendEvent(const ordered_json& data, std::string& out) {
    out += "event: ";
    out += data["type"].get_ref<const std::string&>();
    out += "\ndata: ";
    out += data.dump(-1, ' ', false, json::error_handler_t::replace);
    out += "\n\n";
}

} // namespace

MessagesStreamTranslator::MessagesStreamTranslator(std::string model) : _model(std::move(model)) {}

StreamFilter::Step MessagesStreamTranslator::take(std::string_view frame, std::string& out) {
    if (_done) return Step::Done;
    if (!_error.empty()) return Step::Error;  // the stream is over: nothing more is taken
    auto read = readChatEvent(frame);
    switch (read.kind) {
    case ChatEvent::Kind::Nothing:
        // A provider's keep-alive comment while the model works: Anthropic's
        // clients hear the same wait as a ping. Not answer data, so the idle
        // deadline still runs; before message_start there is nobody to tell.
        if (_started) appendEvent({{"type", "ping"}}, out);
        return Step::Quiet;
    case ChatEvent::Kind::End: appendEnd(out); return Step::Done;
    case ChatEvent::Kind::Error: _error = std::move(read.error); return Step::Error;
    case ChatEvent::Kind::Chunk: break;
    }
    const auto& chunk = read.chunk;
    if (_messageId.empty()) _messageId = textOf(field(chunk, "id"));
    // Most providers send usage on a last chunk with no choices, some on every chunk.
    readUsage(chunk, _usage);
    const auto before = out.size();
    for (const auto& choice : listOf(field(chunk, "choices")))
        // Only one answer is asked for; any other choice is not the client's.
        if (choice.is_object() && choice.value("index", json(0)) == 0) takeChoice(choice, out);
    // A role-only opening event says nothing to the client yet: a backend
    // that dies after one is still failed over.
    return out.size() > before ? Step::Answer : Step::Quiet;
}

bool MessagesStreamTranslator::finish(std::string& out) {
    if (_done) return true;
    if (_finishReason.is_null()) return false;
    appendEnd(out);
    return true;
}

void MessagesStreamTranslator::takeChoice(const json& choice, std::string& out) {
    const auto& delta = field(choice, "delta");
    if (const auto reasoning = reasoningOf(delta); !reasoning.empty()) {
        if (_open != Block::Thinking) openBlock(Block::Thinking, {{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}, out);
        appendDelta({{"type", "thinking_delta"}, {"thinking", reasoning}}, out);
    }
    if (const auto text = textOf(field(delta, "content")); !text.empty()) {
        if (_open != Block::Text) openBlock(Block::Text, {{"type", "text"}, {"text", ""}}, out);
        appendDelta({{"type", "text_delta"}, {"text", text}}, out);
    }
    for (const auto& call : listOf(field(delta, "tool_calls"))) takeToolCall(call, out);
    if (const auto& reason = field(choice, "finish_reason"); reason.is_string()) _finishReason = reason;
}

void MessagesStreamTranslator::takeToolCall(const json& call, std::string& out) {
    if (!call.is_object()) return;
    const auto id = textOf(field(call, "id"));
    const auto& index = field(call, "index");
    // Without an index, a new id starts the next call and a piece without one continues the current call.
    const std::size_t slot = index.is_number_unsigned() ? index.get<std::size_t>()
                             : !_call                   ? 0
                             : !id.empty() && id != _call->id ? _call->slot + 1
                                                              : _call->slot;
    if (!_call || _call->slot != slot) _call = PendingCall{slot, id, "", "", false};
    auto& current = *_call;
    if (current.id.empty()) current.id = id;
    const auto& function = field(call, "function");
    if (current.opened) {
        // A piece after its block was closed by other content cannot be placed: dropped.
        if (const auto arguments = argumentsOf(function); _open == Block::ToolUse && !arguments.empty())
            appendDelta({{"type", "input_json_delta"}, {"partial_json", arguments}}, out);
        return;
    }
    current.name += textOf(field(function, "name"));
    current.arguments += argumentsOf(function);
    if (current.name.empty()) return;  // a tool_use block must name its tool
    current.opened = true;
    _madeToolCalls = true;
    openBlock(Block::ToolUse,
              {{"type", "tool_use"}, {"id", anthropicToolUseId(current.id)}, {"name", current.name}, {"input", ordered_json::object()}},
              out);
    if (!current.arguments.empty())
        appendDelta({{"type", "input_json_delta"}, {"partial_json", current.arguments}}, out);
    current.arguments.clear();
}

void MessagesStreamTranslator::appendDelta(const ordered_json& delta, std::string& out) {
    appendEvent({{"type", "content_block_delta"}, {"index", _index}, {"delta", delta}}, out);
}

void MessagesStreamTranslator::openBlock(Block kind, ordered_json contentBlock, std::string& out) {
    if (!_started) appendStart(out);
    closeBlock(out);
    _open = kind;
    ++_index;
    appendEvent({{"type", "content_block_start"}, {"index", _index}, {"content_block", std::move(contentBlock)}}, out);
}

void MessagesStreamTranslator::closeBlock(std::string& out) {
    if (_open == Block::None) return;
    appendEvent({{"type", "content_block_stop"}, {"index", _index}}, out);
    _open = Block::None;
}

void MessagesStreamTranslator::appendStart(std::string& out) {
    _started = true;
    const ordered_json message = {{"id", anthropicMessageId(_messageId)},
                                  {"type", "message"},
                                  {"role", "assistant"},
                                  {"model", _model},
                                  {"content", ordered_json::array()},
                                  {"stop_reason", nullptr},
                                  {"stop_sequence", nullptr},
                                  {"usage", {{"input_tokens", _usage.promptTokens}, {"output_tokens", 0}}}};
    appendEvent({{"type", "message_start"}, {"message", message}}, out);
    // Anthropic pings right after message_start; clients skip it.
    appendEvent({{"type", "ping"}}, out);
}

void MessagesStreamTranslator::appendEnd(std::string& out) {
    if (!_started) appendStart(out);
    closeBlock(out);
    appendEvent({{"type", "message_delta"},
                 {"delta", {{"stop_reason", anthropicStopReason(_finishReason, _madeToolCalls)}, {"stop_sequence", nullptr}}},
                 {"usage", {{"input_tokens", _usage.promptTokens}, {"output_tokens", _usage.completionTokens}}}},
                out);
    appendEvent({{"type", "message_stop"}}, out);
    _done = true;
}

} // namespace sluice::kernel
