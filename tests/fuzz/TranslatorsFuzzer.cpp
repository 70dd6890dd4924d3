// libFuzzer target for the Ollama <-> OpenAI translation: a client's Ollama
// request rewritten for an OpenAI-compatible backend, the backend's whole
// answer rewritten for the Ollama client, and its SSE stream rewritten as
// NDJSON by StreamTranslator, event by event as the forwarder feeds it.
//
// JSON comes in through sluice::parseJson, as in sluiced. Invariants:
// nothing throws (the headers document no exception); every request, answer
// and NDJSON line produced is valid JSON of the documented shape and names
// the served model; a stream's lines end with exactly one done:true line,
// only when the stream is over, and nothing follows it; an error event
// appends nothing.
//
// Input layout: byte 0 picks the call (bits 0-1: chat, generate, embed,
// embeddings), what is translated (bits 2-3: the request, the answer, the
// stream, the stream) and whether the client asked for a stream (bit 4); the
// rest is the request's JSON, the answer's JSON, or the SSE stream.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "FuzzSupport.h"
#include "front/RequestFields.h"
#include "sluice/Json.h"
#include "sluice/Route.h"
#include "translate/OllamaOpenAi.h"
#include "translate/StreamTranslator.h"
#include "http/FrameSplitter.h"

namespace {

using nlohmann::json;
using sluice::fuzz::check;
using sluice::fuzz::violated;
using sluice::kernel::OllamaCall;
using sluice::kernel::StreamTranslator;

const std::string kModel = "served-model";
constexpr std::chrono::nanoseconds kTotalDuration{123456789};

// `text` parsed the way sluiced parses JSON from outside; checks it is valid.
json parsedOutput(std::string_view text, const char* what) {
    json value;
    check(sluice::parseJson(text, value) == sluice::JsonParse::Ok, what, text);
    return value;
}

// object[key], or null when there is no such member: operator[] on a const
// json asserts instead.
const json& member(const json& object, const char* key) {
    static const json kNull;
    if (!object.is_object()) return kNull;
    const auto it = object.find(key);
    return it == object.end() ? kNull : *it;
}

void checkOpenAiRequest(OllamaCall call, const json& request, bool stream) {
    check(request.is_object() && request.value("model", json()) == kModel, "a translated request names the served model");
    // As the forwarder sends it.
    const auto sent = request.dump(-1, ' ', false, json::error_handler_t::replace);
    check(parsedOutput(sent, "a translated request is valid JSON") == request, "a translated request reads back the same");
    if (call == OllamaCall::Embed || call == OllamaCall::Embeddings) {
        const auto& input = member(request, "input");
        check(input.is_string() || input.is_array(), "an embedding request's input is a string or an array");
        return;
    }
    check(request.value("stream", json()) == stream, "a translated request streams when the client asked");
    check(request.contains("stream_options") == stream, "stream_options only with a stream");
    const auto& messages = member(request, "messages");
    check(messages.is_array(), "a chat request has messages");
    for (const auto& message : messages) {
        check(message.is_object() && member(message, "role").is_string(), "every message has a role");
        const auto& content = member(message, "content");
        check(content.is_string() || content.is_null() || content.is_array(), "content is text, null or parts");
        if (message.contains("tool_calls")) {
            for (const auto& toolCall : member(message, "tool_calls")) {
                check(member(toolCall, "id").is_string() && !member(toolCall, "id").get<std::string>().empty(), "every tool call has an id");
                check(member(member(toolCall, "function"), "arguments").is_string(), "tool call arguments are JSON text");
            }
        }
    }
    if (const auto stop = request.find("stop"); stop != request.end())
        check(stop->is_array() && !stop->empty() && stop->size() <= 4, "one to four stop sequences");
    if (const auto limit = request.find("max_tokens"); limit != request.end())
        check(limit->is_number_integer() && limit->get<long long>() > 0, "max_tokens is a positive integer");
}

void translateRequest(OllamaCall call, std::string_view text, bool stream) {
    json body;
    if (sluice::parseJson(text, body) != sluice::JsonParse::Ok || !body.is_object()) return;  // the front answers 400
    static constexpr sluice::RouteKind kKinds[] = {sluice::RouteKind::OllamaChat, sluice::RouteKind::OllamaGenerate,
                                                   sluice::RouteKind::OllamaEmbed, sluice::RouteKind::OllamaEmbeddings};
    sluice::Route route;
    route.kind = kKinds[static_cast<int>(call)];
    const bool frontAccepts = !sluice::kernel::wrongFieldType(body, route);
    json request;
    try {
        request = sluice::kernel::toOpenAiRequest(call, body, kModel, stream);
    } catch (const std::exception& error) {
        // The front refuses wrong field types first; both are still worth knowing.
        violated(frontAccepts ? "toOpenAiRequest does not throw on a body the front accepts"
                              : "toOpenAiRequest does not throw on any JSON object",
                 error.what());
    }
    checkOpenAiRequest(call, request, stream);
}

void checkToolCalls(const json& message) {
    const auto calls = message.find("tool_calls");
    if (calls == message.end()) return;
    check(calls->is_array(), "tool_calls is an array");
    for (const auto& call : *calls) {
        const auto& function = member(call, "function");
        check(member(function, "name").is_string(), "a tool call has a name");
        check(member(function, "arguments").is_object() || member(function, "arguments").is_string(), "tool call arguments are an object or the provider's text");
    }
}

void translateAnswer(OllamaCall call, std::string_view text) {
    // As relayWhole does: whatever parseJson made of the body, discarded included.
    const auto parsed = sluice::parseJson(text);
    std::optional<std::string> answer;
    try {
        answer = sluice::kernel::toOllamaAnswer(call, parsed, kModel, kTotalDuration);
    } catch (const std::exception& error) {
        violated("toOllamaAnswer does not throw", error.what());
    }
    if (!answer) return;
    check(parsed.is_object(), "only an object is an answer");
    const auto ollama = parsedOutput(*answer, "a translated answer is valid JSON");
    check(ollama.is_object(), "a translated answer is an object");
    switch (call) {
    case OllamaCall::Chat:
    case OllamaCall::Generate:
        check(member(ollama, "model") == kModel, "an answer names the served model");
        check(member(ollama, "done") == true, "a whole answer is done");
        check(member(ollama, "done_reason") == "stop" || member(ollama, "done_reason") == "length", "done_reason is stop or length");
        check(member(ollama, "total_duration") == kTotalDuration.count(), "total_duration is the request's");
        if (call == OllamaCall::Chat) {
            check(member(member(ollama, "message"), "role") == "assistant" && member(member(ollama, "message"), "content").is_string(), "a chat answer has the assistant's message");
            checkToolCalls(member(ollama, "message"));
        } else {
            check(member(ollama, "response").is_string(), "a generate answer has the response text");
        }
        break;
    case OllamaCall::Embed:
        check(member(ollama, "model") == kModel, "an answer names the served model");
        check(member(ollama, "embeddings").is_array(), "an embed answer has embeddings");
        for (const auto& vector : member(ollama, "embeddings")) check(vector.is_array(), "every embedding is an array");
        break;
    case OllamaCall::Embeddings:
        check(member(ollama, "embedding").is_array(), "an embeddings answer has one embedding");
        break;
    }
}

// Checks the NDJSON lines one take() or finish() appended; returns how many said done:true.
int checkLines(std::string_view lines, OllamaCall call, const StreamTranslator& translator) {
    int done = 0;
    while (!lines.empty()) {
        const auto newline = lines.find('\n');
        check(newline != std::string_view::npos, "every NDJSON line ends with a newline");
        const auto line = parsedOutput(lines.substr(0, newline), "every NDJSON line is valid JSON");
        lines.remove_prefix(newline + 1);
        check(line.is_object() && member(line, "model") == kModel && member(line, "created_at").is_string(), "every line names the model and its time");
        check(member(line, "done").is_boolean(), "every line says whether it is the last");
        if (call == OllamaCall::Chat) {
            check(member(member(line, "message"), "role") == "assistant" && member(member(line, "message"), "content").is_string(), "a chat line has the assistant's message");
            checkToolCalls(member(line, "message"));
        } else {
            check(member(line, "response").is_string(), "a generate line has response text");
        }
        if (member(line, "done") == true) {
            ++done;
            check(lines.empty(), "nothing follows the done:true line");
            check(member(line, "done_reason") == "stop" || member(line, "done_reason") == "length", "done_reason is stop or length");
            if (translator.usage().reported)
                check(member(line, "prompt_eval_count") == translator.usage().promptTokens && member(line, "eval_count") == translator.usage().completionTokens,
                      "the final line carries the usage");
        }
    }
    return done;
}

void translateStream(OllamaCall call, std::string_view stream) {
    using Step = StreamTranslator::Step;
    StreamTranslator translator(call, kModel, std::chrono::steady_clock::now());
    auto step = Step::More;
    int doneLines = 0;
    try {
        sluice::kernel::FrameSplitter::forEachFrame(sluice::kernel::Framing::Sse, stream, [&](std::string_view event) {
            if (step == Step::Error) return;  // the forwarder stops at an error
            std::string lines;
            const auto before = step;
            step = translator.take(event, lines);
            if (before == Step::Done) {
                check(step == Step::Done && lines.empty(), "nothing is taken after the end");
                return;
            }
            if (step == Step::Error) {
                check(lines.empty(), "an error event appends nothing");
                check(!translator.error().empty(), "an error event says why");
                return;
            }
            const auto done = checkLines(lines, call, translator);
            check(done == (step == Step::Done ? 1 : 0), "the done:true line comes exactly at [DONE]");
            check(translator.done() == (step == Step::Done), "done() is whether [DONE] came");
            doneLines += done;
        });
        if (step == Step::More) {
            std::string lines;
            const bool whole = translator.finish(lines);
            if (!whole) check(lines.empty(), "a stream cut short appends nothing at its end");
            const auto done = checkLines(lines, call, translator);
            check(done == (whole ? 1 : 0), "a finished stream ends with one done:true line");
            doneLines += done;
        }
    } catch (const std::exception& error) {
        violated("StreamTranslator does not throw", error.what());
    }
    check(doneLines <= 1, "at most one done:true line");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const auto call = static_cast<OllamaCall>(data[0] & 3);
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch ((data[0] >> 2) & 3) {
    case 0: translateRequest(call, text, data[0] & 0x10); break;
    case 1: translateAnswer(call, text); break;
    default: translateStream(data[0] & 1 ? OllamaCall::Generate : OllamaCall::Chat, text); break;
    }
    return 0;
}
