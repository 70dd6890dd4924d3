#include "StreamTranslator.h"

#include <optional>

#include "ChatEvents.h"
#include "../http/FrameSplitter.h"
#include "sluice/Json.h"

namespace sluice::kernel {

namespace {
using nlohmann::json;
using nlohmann::ordered_json;

std::string serialized(const ordered_json& line) { return line.dump(-1, ' ', false, json::error_handler_t::replace) + '\n'; }
} // namespace

StreamTranslator::StreamTranslator(OllamaCall call, std::string model, std::chrono::steady_clock::time_point started)
    : _call(call), _model(std::move(model)), _started(started) {}

StreamTranslator::Step StreamTranslator::take(std::string_view event, std::string& lines) {
    if (_done) return Step::Done;
    auto read = readChatEvent(event);
    switch (read.kind) {
    case ChatEvent::Kind::Nothing: return Step::More;
    case ChatEvent::Kind::End:
        appendToolCalls(lines);
        appendFinal(lines);
        return Step::Done;
    case ChatEvent::Kind::Error: _error = std::move(read.error); return Step::Error;
    case ChatEvent::Kind::Chunk: break;
    }
    takeChunk(read.chunk, lines);
    return Step::More;
}

bool StreamTranslator::finish(std::string& lines) {
    if (_done) return true;
    if (_finishReason.empty()) return false;
    appendToolCalls(lines);
    appendFinal(lines);
    return true;
}

void StreamTranslator::takeChunk(const json& chunk, std::string& lines) {
    // Some providers send usage on every chunk, most only on a last one with no choices.
    if (auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
        auto count = [&](const char* name) {
            auto it = usage->find(name);
            return it != usage->end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : std::uint64_t{0};
        };
        _usage = Usage{count("prompt_tokens"), count("completion_tokens"), true};
    }
    const auto choices = chunk.find("choices");
    if (choices == chunk.end() || !choices->is_array()) return;
    for (const auto& choice : *choices) {
        // Only one answer is asked for; any other choice is not the client's.
        if (!choice.is_object() || choice.value("index", json(0)) != 0) continue;
        if (auto delta = choice.find("delta"); delta != choice.end() && delta->is_object()) {
            appendContent(textOf(delta->value("content", json())), lines);
            if (auto calls = delta->find("tool_calls"); _call == OllamaCall::Chat && calls != delta->end() && calls->is_array()) {
                for (const auto& call : *calls) {
                    if (!call.is_object()) continue;
                    const auto index = call.value("index", json(_toolCalls.size()));
                    const auto slot = index.is_number_unsigned() ? index.get<std::size_t>() : _toolCalls.size();
                    if (slot > _toolCalls.size() + 64) continue;  // not a real index: ignore rather than grow
                    if (slot >= _toolCalls.size()) _toolCalls.resize(slot + 1);
                    auto& pending = _toolCalls[slot];
                    if (auto id = textOf(call.value("id", json())); !id.empty()) pending.id = id;
                    if (auto function = call.find("function"); function != call.end() && function->is_object()) {
                        pending.name += textOf(function->value("name", json()));
                        pending.arguments += textOf(function->value("arguments", json()));
                    }
                }
            }
        }
        if (auto reason = choice.find("finish_reason"); reason != choice.end() && reason->is_string()) {
            _finishReason = reason->get<std::string>();
            appendToolCalls(lines);
        }
    }
}

void StreamTranslator::appendContent(const std::string& content, std::string& lines) const {
    if (content.empty()) return;  // a role-only delta says nothing to an Ollama client
    ordered_json line = {{"model", _model}, {"created_at", ollamaTimestamp(std::chrono::system_clock::now())}};
    if (_call == OllamaCall::Chat) line["message"] = {{"role", "assistant"}, {"content", content}};
    else line["response"] = content;
    line["done"] = false;
    lines += serialized(line);
}

void StreamTranslator::appendToolCalls(std::string& lines) {
    if (_toolCalls.empty()) return;
    ordered_json calls = ordered_json::array();
    for (const auto& call : _toolCalls)
        if (!call.name.empty()) calls.push_back(ollamaToolCall(call.id, call.name, call.arguments));
    _toolCalls.clear();
    if (calls.empty()) return;
    lines += serialized({{"model", _model},
                         {"created_at", ollamaTimestamp(std::chrono::system_clock::now())},
                         {"message", {{"role", "assistant"}, {"content", ""}, {"tool_calls", std::move(calls)}}},
                         {"done", false}});
}

void StreamTranslator::appendFinal(std::string& lines) {
    _done = true;
    ordered_json line = {{"model", _model}, {"created_at", ollamaTimestamp(std::chrono::system_clock::now())}};
    if (_call == OllamaCall::Chat) line["message"] = {{"role", "assistant"}, {"content", ""}};
    else line["response"] = "";
    line["done"] = true;
    line["done_reason"] = ollamaDoneReason(_finishReason.empty() ? json() : json(_finishReason));
    line["total_duration"] = static_cast<long long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - _started).count());
    if (_usage.reported) {
        line["prompt_eval_count"] = _usage.promptTokens;
        line["eval_count"] = _usage.completionTokens;
    }
    lines += serialized(line);
}

} // namespace sluice::kernel
