// libFuzzer target for the coding agents' translations (kernel/translate):
// an Anthropic Messages or OpenAI Responses request checked and rewritten as
// a Chat Completions request, a provider's whole answer rewritten as a
// Message or a Response, and its SSE stream rewritten as the client's named
// events, event by event as the relay feeds them.
//
// JSON comes in through sluice::parseJson, as in sluiced. Invariants:
// nothing throws; a request the check accepts translates to a chat request
// that names the served model and reads back as valid JSON; an answer is
// valid JSON of its API's type; a stream's output is whole SSE events, each
// named as its data's "type", with valid JSON data; nothing is appended
// before the first answer content or after the end, an error appends
// nothing, a stream cut short appends nothing at its end; the Responses
// API's sequence numbers only grow.
//
// Input layout: byte 0 picks the API (bit 0: Messages, Responses) and what
// is translated (bits 1-2: the request, the answer, the stream, the
// stream); the rest is the JSON or the SSE stream.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "FuzzSupport.h"
#include "http/FrameSplitter.h"
#include "sluice/Json.h"
#include "translate/AnthropicOpenAi.h"
#include "translate/MessagesStreamTranslator.h"
#include "translate/ResponsesOpenAi.h"
#include "translate/ResponsesStreamTranslator.h"

namespace {

using nlohmann::json;
using sluice::fuzz::check;
using sluice::fuzz::violated;
using sluice::kernel::StreamFilter;
using Step = StreamFilter::Step;

const std::string kModel = "served-model";

json parsedOutput(std::string_view text, const char* what) {
    json value;
    check(sluice::parseJson(text, value) == sluice::JsonParse::Ok, what, text);
    return value;
}

void translateRequest(bool responses, std::string_view text) {
    json body;
    if (sluice::parseJson(text, body) != sluice::JsonParse::Ok) return;
    try {
        const auto problem = responses ? sluice::kernel::responsesRequestProblem(body) : sluice::kernel::messagesRequestProblem(body);
        if (problem) {
            check(!problem->empty(), "a refused request says why");
            return;
        }
        const bool stream = body.value("stream", json(false)) == json(true);
        if (responses) (void)sluice::kernel::continuesPreviousResponse(body);
        const auto request = responses ? sluice::kernel::chatRequestForResponses(body, kModel, stream)
                                       : sluice::kernel::chatRequestForMessages(body, kModel, stream);
        check(request.is_object() && request.value("model", json()) == kModel, "a translated request names the served model");
        check(request.contains("messages") && request["messages"].is_array(), "a translated request has messages");
        check(request.value("stream", json(false)) == json(stream), "a translated request streams when the client asked");
        const auto sent = request.dump(-1, ' ', false, json::error_handler_t::replace);
        (void)parsedOutput(sent, "a translated request is valid JSON");
    } catch (const std::exception& error) {
        violated("translating a request does not throw", error.what());
    }
}

void translateAnswer(bool responses, std::string_view text) {
    json completion;
    if (sluice::parseJson(text, completion) != sluice::JsonParse::Ok) return;
    try {
        const json request{{"model", "asked"}, {"input", "hi"}};
        const auto answer = responses ? sluice::kernel::responsesAnswerFor(completion, request, kModel)
                                      : sluice::kernel::messagesAnswerFor(completion, kModel);
        if (!answer) return;
        const auto parsed = parsedOutput(*answer, "a translated answer is valid JSON");
        check(parsed.is_object(), "a translated answer is an object");
        if (responses) check(parsed.value("object", json()) == "response", "a Response says so");
        else check(parsed.value("type", json()) == "message", "a Message says so");
        check(parsed.contains(responses ? "output" : "content"), "a translated answer has its output");
    } catch (const std::exception& error) {
        violated("translating an answer does not throw", error.what());
    }
}

// Checks `out` is whole SSE events, named as their data's type; returns the
// last Responses sequence number seen (or `sequence` when none).
long long checkEvents(std::string_view out, long long sequence, bool responses) {
    while (!out.empty()) {
        const auto end = out.find("\n\n");
        check(end != std::string_view::npos, "events are whole", out);
        const auto event = out.substr(0, end);
        out.remove_prefix(end + 2);
        check(event.starts_with("event: "), "every event is named", event);
        const auto newline = event.find('\n');
        check(newline != std::string_view::npos && event.substr(newline + 1).starts_with("data: "), "every event has data", event);
        const auto name = event.substr(7, newline - 7);
        const auto data = parsedOutput(event.substr(newline + 7), "event data is valid JSON");
        check(data.is_object() && data.value("type", json()) == json(std::string(name)), "an event is named as its type", event);
        if (responses) {
            const auto number = data.value("sequence_number", json());
            check(number.is_number_integer() && number.get<long long>() > sequence, "sequence numbers grow", event);
            sequence = number.get<long long>();
        }
    }
    return sequence;
}

void translateStream(bool responses, std::string_view text) {
    try {
        std::unique_ptr<StreamFilter> filter;
        if (responses) filter = std::make_unique<sluice::kernel::ResponsesStreamTranslator>(json{{"model", "asked"}, {"input", "hi"}}, kModel);
        else filter = std::make_unique<sluice::kernel::MessagesStreamTranslator>(kModel);
        auto step = Step::Quiet;
        bool begun = false;
        long long sequence = -1;
        sluice::kernel::FrameSplitter::forEachFrame(sluice::kernel::Framing::Sse, text, [&](std::string_view frame) {
            std::string out;
            const auto before = step;
            step = filter->take(frame, out);
            if (before == Step::Done || before == Step::Error) {
                check(out.empty(), "nothing is appended after the end");
                return;
            }
            if (step == Step::Error) {
                check(out.empty(), "an error appends nothing");
                check(!filter->error().empty(), "an error says why");
                return;
            }
            if (step == Step::Quiet && !begun) check(out.empty(), "nothing before the first answer content");
            if (step == Step::Answer || step == Step::Done) begun = true;
            sequence = checkEvents(out, sequence, responses);
        });
        if (step != Step::Done && step != Step::Error) {
            std::string out;
            if (!filter->finish(out)) check(out.empty(), "a stream cut short appends nothing at its end");
            sequence = checkEvents(out, sequence, responses);
        }
        if (begun && step != Step::Error) {
            auto failure = filter->failureFrame("the backend's stream broke off", "upstream_stream_failed");
            if (failure) (void)checkEvents(*failure, sequence, responses);
        }
    } catch (const std::exception& error) {
        violated("a stream translator does not throw", error.what());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool responses = data[0] & 1;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch ((data[0] >> 1) & 3) {
    case 0: translateRequest(responses, text); break;
    case 1: translateAnswer(responses, text); break;
    default: translateStream(responses, text); break;
    }
    return 0;
}
