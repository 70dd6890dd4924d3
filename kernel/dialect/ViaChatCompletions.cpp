#include "ViaChatCompletions.h"

#include "Usage.h"
#include "translate/ChatEvents.h"

namespace sluice::kernel {

namespace {
// The chunk a provider would have streamed for a whole completion: its
// message as one delta (tool calls indexed), then the usage, then [DONE].
std::string completionAsStream(const nlohmann::json& completion) {
    const auto& choice = completion.at("choices").at(0);
    nlohmann::json delta = choice.value("message", nlohmann::json::object());
    if (auto calls = delta.find("tool_calls"); calls != delta.end() && calls->is_array())
        for (std::size_t i = 0; i < calls->size(); ++i)
            if ((*calls)[i].is_object()) (*calls)[i]["index"] = i;
    nlohmann::json chunk{{"id", completion.value("id", nlohmann::json())},
                         {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", choice.value("finish_reason", nlohmann::json("stop"))}}}}};
    std::string frames = "data: " + jsonText(chunk) + "\n\n";
    if (const auto usage = completion.find("usage"); usage != completion.end() && usage->is_object())
        frames += "data: " + jsonText(nlohmann::json{{"choices", nlohmann::json::array()}, {"usage", *usage}}) + "\n\n";
    return frames + "data: [DONE]\n\n";
}

bool isChatCompletion(const nlohmann::json& answer) {
    const auto choices = answer.find("choices");
    return choices != answer.end() && choices->is_array() && !choices->empty() && (*choices)[0].is_object() &&
           (*choices)[0].contains("message");
}
} // namespace

const std::string& reportedModel(const DialectCall& call) { return call.ctx.model; }

std::optional<ClientAnswer> ViaChatCompletions::ownAnswer(const DialectCall& call) const {
    const auto problem = untranslatable(call);
    if (!problem) return std::nullopt;
    return ClientAnswer{400, "application/json", errorBody(400, *problem, "invalid_request"), {}};
}

UpstreamRequest ViaChatCompletions::request(const DialectCall& call) const {
    return {backendPath(call.backend, "/v1/chat/completions"), jsonText(chatRequest(call)), {}};
}

std::optional<ClientAnswer> ViaChatCompletions::whole(const DialectCall& call, AnswerJson& parsed, const std::string&,
                                                      std::chrono::nanoseconds) const {
    const auto& answer = parsed.tree();
    if (!answer.is_object() || !isChatCompletion(answer)) return std::nullopt;
    ClientAnswer out{200, "application/json", {}, {}};
    readUsage(answer, out.usage);
    if (!call.ctx.stream) {
        auto body = wholeAnswer(call, answer);
        if (!body) return std::nullopt;
        out.body = std::move(*body);
        return out;
    }
    // A provider that answers a stream request whole: the client still reads its events.
    auto filter = streamFilter(call);
    const auto frames = completionAsStream(answer);
    bool done = false;
    FrameSplitter::forEachFrame(Framing::Sse, frames, [&](std::string_view frame) {
        if (!done) done = filter->take(frame, out.body) == StreamFilter::Step::Done;
    });
    if (!done) return std::nullopt;
    out.contentType = "text/event-stream";
    return out;
}

std::optional<StreamPlan> ViaChatCompletions::stream(const DialectCall& call, std::string_view contentType,
                                                     std::chrono::steady_clock::time_point) const {
    if (contentType.find("event-stream") == std::string_view::npos) return std::nullopt;
    return StreamPlan{Framing::Sse, "text/event-stream", streamFilter(call)};
}

} // namespace sluice::kernel
