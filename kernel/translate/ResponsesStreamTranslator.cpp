#include "ResponsesStreamTranslator.h"

#include <chrono>

#include "ChatEvents.h"
#include "ResponsesOpenAi.h"
#include "http/FrameSplitter.h"
#include "sluice/Json.h"

namespace sluice::kernel {

namespace {
using nlohmann::json;
using nlohmann::ordered_json;

// A provider naming tool-call indexes past this is not counting calls: its deltas are ignored.
constexpr std::size_t kMaxToolCalls = 128;

std::string frame(std::string_view type, const ordered_json& data) {
    return "event: " + std::string(type) + "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

ordered_json outputText(const std::string& text) {
    return {{"type", "output_text"}, {"annotations", ordered_json::array()}, {"logprobs", ordered_json::array()}, {"text", text}};
}

ordered_json summaryText(const std::string& text) { return {{"type", "summary_text"}, {"text", text}}; }

ordered_json reasoningItem(const std::string& id, const ordered_json& summary) {
    return {{"id", id}, {"type", "reasoning"}, {"summary", summary}};
}

ordered_json messageItem(const std::string& id, const std::string& status, const ordered_json& content) {
    return {{"id", id}, {"type", "message"}, {"status", status}, {"content", content}, {"role", "assistant"}};
}

ordered_json functionCallItem(const std::string& id, const std::string& status, const std::string& arguments,
                              const std::string& callId, const std::string& name) {
    return {{"id", id}, {"type", "function_call"}, {"status", status}, {"arguments", arguments}, {"call_id", callId}, {"name", name}};
}

// The two frames of a failure, numbered from `sequence`.
std::string failureFrames(ordered_json response, const std::string& message, const std::string& code, std::uint64_t& sequence) {
    const auto reported = code.empty() ? std::string("server_error") : code;
    ordered_json error = {{"type", "error"},
                          {"code", reported},
                          {"message", message},
                          {"param", nullptr},
                          {"error", {{"type", "server_error"}, {"code", reported}, {"message", message}, {"param", nullptr}}},
                          {"sequence_number", sequence++}};
    response["error"] = {{"code", reported}, {"message", message}};
    ordered_json failed = {{"type", "response.failed"}, {"response", std::move(response)}, {"sequence_number", sequence++}};
    return frame("error", error) + frame("response.failed", failed);
}
} // namespace

ResponsesStreamTranslator::ResponsesStreamTranslator(json request, std::string model)
    : _request(std::move(request)), _model(std::move(model)), _responseId(responsesId("resp_")), _createdAt(unixNow()) {
    // A Response echoes settings, never the input: kept, its images would only hold memory for the stream's life.
    if (_request.is_object()) _request.erase("input");
}

StreamFilter::Step ResponsesStreamTranslator::take(std::string_view event, std::string& out) {
    if (_done) return Step::Done;
    if (!_error.empty()) return Step::Error;  // the stream is over: nothing more is taken
    auto read = readChatEvent(event);
    switch (read.kind) {
    case ChatEvent::Kind::Nothing: return Step::Quiet;
    case ChatEvent::Kind::End: appendEnd(out); return Step::Done;
    case ChatEvent::Kind::Error: _error = std::move(read.error); return Step::Error;
    case ChatEvent::Kind::Chunk: break;
    }
    const auto& chunk = read.chunk;
    const auto before = out.size();
    takeChunk(chunk, out);
    return out.size() > before ? Step::Answer : Step::Quiet;
}

bool ResponsesStreamTranslator::finish(std::string& out) {
    if (_done) return true;
    if (_finishReason.empty()) return false;
    appendEnd(out);
    return true;
}

std::string ResponsesStreamTranslator::failedEvents(const std::string& message, const std::string& code) {
    auto response = responseObject(_request, _model, _responseId, _createdAt, "failed");
    for (const auto& item : _output) response["output"].push_back(item);
    response["usage"] = responsesUsage(_chatUsage);
    return failureFrames(std::move(response), message, code, _sequence);
}

void ResponsesStreamTranslator::takeChunk(const json& chunk, std::string& out) {
    // Most providers send usage on a last chunk with no choices; some on every chunk.
    if (auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
        _chatUsage = *usage;
        const auto counts = responsesUsage(*usage);
        _usage = Usage{counts["input_tokens"].get<std::uint64_t>(), counts["output_tokens"].get<std::uint64_t>(), true};
    }
    const auto choices = chunk.find("choices");
    if (choices == chunk.end() || !choices->is_array()) return;
    for (const auto& choice : *choices) {
        // Only one answer is asked for; any other choice is not the client's.
        if (!choice.is_object() || choice.value("index", json(0)) != 0) continue;
        if (auto delta = choice.find("delta"); delta != choice.end() && delta->is_object()) {
            if (const auto reasoning = reasoningOf(*delta); !reasoning.empty()) {
                if (_open != Open::Reasoning) startReasoning(out);
                _openText += reasoning;
                emit("response.reasoning_summary_text.delta",
                     {{"item_id", _openId}, {"output_index", _output.size() - 1}, {"summary_index", 0}, {"delta", reasoning}}, out);
            }
            if (const auto content = textOf(delta->value("content", json())); !content.empty()) {
                if (_open != Open::Text) startText(out);
                _openText += content;
                emit("response.output_text.delta",
                     {{"item_id", _openId}, {"output_index", _output.size() - 1}, {"content_index", 0}, {"delta", content},
                      {"logprobs", ordered_json::array()}},
                     out);
            }
            if (auto calls = delta->find("tool_calls"); calls != delta->end() && calls->is_array())
                for (const auto& call : *calls)
                    if (call.is_object()) takeToolCall(call, out);
        }
        if (auto reason = choice.find("finish_reason"); reason != choice.end() && reason->is_string())
            _finishReason = reason->get<std::string>();
    }
}

void ResponsesStreamTranslator::takeToolCall(const json& call, std::string& out) {
    const auto& index = field(call, "index");
    const auto id = textOf(field(call, "id"));
    // Without an index, a new id starts the next call and a piece without one
    // continues the last (as MessagesStreamTranslator reads them).
    const auto last = _lastToolSlot ? _toolCalls.find(*_lastToolSlot) : _toolCalls.end();
    const std::size_t slot = index.is_number_unsigned()  ? index.get<std::size_t>()
                             : last == _toolCalls.end()  ? 0
                             : !id.empty() && id != last->second.callId ? last->first + 1
                                                                         : last->first;
    _lastToolSlot = slot;
    const auto function = call.value("function", json::object());
    auto found = _toolCalls.find(slot);
    if (found == _toolCalls.end()) {
        if (slot >= kMaxToolCalls) return;
        closeOpenItem(out);
        openResponse(out);
        ToolCall opened{_output.size(), responsesId("fc_"), textOf(call.value("id", json())),
                        function.is_object() ? textOf(function.value("name", json())) : std::string(), {}};
        // A call the provider gave no id still needs one the client can answer.
        if (opened.callId.empty()) opened.callId = responsesId("call_");
        _output.push_back(functionCallItem(opened.itemId, "in_progress", "", opened.callId, opened.name));
        emit("response.output_item.added", {{"output_index", opened.outputIndex}, {"item", _output.back()}}, out);
        found = _toolCalls.emplace(slot, std::move(opened)).first;
    } else if (function.is_object()) {
        // Some providers spell a name in pieces, too; the closing events carry it whole.
        found->second.name += textOf(function.value("name", json()));
    }
    auto& pending = found->second;
    const auto arguments = function.is_object() ? textOf(function.value("arguments", json())) : std::string();
    if (arguments.empty()) return;
    pending.arguments += arguments;
    emit("response.function_call_arguments.delta",
         {{"item_id", pending.itemId}, {"output_index", pending.outputIndex}, {"delta", arguments}}, out);
}

void ResponsesStreamTranslator::openResponse(std::string& out) {
    if (_opened) return;
    _opened = true;
    emit("response.created", {{"response", responseObject(_request, _model, _responseId, _createdAt, "in_progress")}}, out);
    emit("response.in_progress", {{"response", responseObject(_request, _model, _responseId, _createdAt, "in_progress")}}, out);
}

void ResponsesStreamTranslator::startReasoning(std::string& out) {
    closeOpenItem(out);
    openResponse(out);
    _open = Open::Reasoning;
    _openId = responsesId("rs_");
    _output.push_back(reasoningItem(_openId, ordered_json::array()));
    const auto index = _output.size() - 1;
    emit("response.output_item.added", {{"output_index", index}, {"item", _output.back()}}, out);
    // The openai SDK adds summary text only to a part announced first.
    emit("response.reasoning_summary_part.added",
         {{"item_id", _openId}, {"output_index", index}, {"summary_index", 0}, {"part", summaryText("")}}, out);
}

void ResponsesStreamTranslator::startText(std::string& out) {
    closeOpenItem(out);
    openResponse(out);
    _open = Open::Text;
    _openId = responsesId("msg_");
    _output.push_back(messageItem(_openId, "in_progress", ordered_json::array()));
    const auto index = _output.size() - 1;
    emit("response.output_item.added", {{"output_index", index}, {"item", _output.back()}}, out);
    emit("response.content_part.added",
         {{"item_id", _openId}, {"output_index", index}, {"content_index", 0}, {"part", outputText("")}}, out);
}

void ResponsesStreamTranslator::closeOpenItem(std::string& out) {
    if (_open == Open::Nothing) return;
    const auto index = _output.size() - 1;
    if (_open == Open::Reasoning) {
        emit("response.reasoning_summary_text.done",
             {{"item_id", _openId}, {"output_index", index}, {"summary_index", 0}, {"text", _openText}}, out);
        emit("response.reasoning_summary_part.done",
             {{"item_id", _openId}, {"output_index", index}, {"summary_index", 0}, {"part", summaryText(_openText)}}, out);
        _output[index] = reasoningItem(_openId, ordered_json::array({summaryText(_openText)}));
    } else {
        emit("response.output_text.done",
             {{"item_id", _openId}, {"output_index", index}, {"content_index", 0}, {"text", _openText},
              {"logprobs", ordered_json::array()}},
             out);
        emit("response.content_part.done",
             {{"item_id", _openId}, {"output_index", index}, {"content_index", 0}, {"part", outputText(_openText)}}, out);
        _output[index] = messageItem(_openId, itemStatus(), ordered_json::array({outputText(_openText)}));
    }
    emit("response.output_item.done", {{"output_index", index}, {"item", _output[index]}}, out);
    _open = Open::Nothing;
    _openId.clear();
    _openText.clear();
}

void ResponsesStreamTranslator::closeToolCalls(std::string& out) {
    for (const auto& [slot, call] : _toolCalls) {
        emit("response.function_call_arguments.done",
             {{"item_id", call.itemId}, {"output_index", call.outputIndex}, {"name", call.name}, {"arguments", call.arguments}}, out);
        _output[call.outputIndex] = functionCallItem(call.itemId, itemStatus(), call.arguments, call.callId, call.name);
        emit("response.output_item.done", {{"output_index", call.outputIndex}, {"item", _output[call.outputIndex]}}, out);
    }
    _toolCalls.clear();
}

void ResponsesStreamTranslator::appendEnd(std::string& out) {
    openResponse(out);
    // An answer with nothing in it still has its (empty) message, as OpenAI's does.
    if (_output.empty()) startText(out);
    closeOpenItem(out);
    closeToolCalls(out);
    const auto incomplete = incompleteReason(_finishReason);
    auto response = responseObject(_request, _model, _responseId, _createdAt, incomplete ? "incomplete" : "completed");
    response["completed_at"] = unixNow();
    if (incomplete) response["incomplete_details"] = {{"reason", *incomplete}};
    for (const auto& item : _output) response["output"].push_back(item);
    response["usage"] = responsesUsage(_chatUsage);
    emit(incomplete ? "response.incomplete" : "response.completed", {{"response", std::move(response)}}, out);
    _done = true;
}

void ResponsesStreamTranslator::emit(std::string_view type, ordered_json fields, std::string& out) {
    ordered_json event = {{"type", type}};
    for (auto field = fields.begin(); field != fields.end(); ++field) event[field.key()] = std::move(field.value());
    event["sequence_number"] = _sequence++;
    out += frame(type, event);
}

std::string ResponsesStreamTranslator::itemStatus() const {
    return incompleteReason(_finishReason) ? "incomplete" : "completed";
}

std::string responsesFailedEvents(const std::string& message, const std::string& code, std::uint64_t sequenceNumber) {
    return failureFrames(responseObject(json::object(), "", responsesId("resp_"), unixNow(), "failed"), message, code,
                         sequenceNumber);
}

} // namespace sluice::kernel
