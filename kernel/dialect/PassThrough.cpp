#include "PassThrough.h"

#include "Usage.h"
#include "sluice/Json.h"

namespace sluice::kernel {

namespace {
// The path on the backend, built from the route (not the client's spelling of
// it: "/api/chat/" is the same call as "/api/chat").
std::string upstreamPath(const Backend& backend, std::string_view routePath) {
    // An openai-kind URL is the API base ("…/v1"); the route's part after /v1 follows it.
    if (backend.kind == BackendKind::OpenAI && routePath.starts_with("/v1/")) routePath.remove_prefix(3);
    return backend.basePath + std::string(routePath);
}

// An OpenAI-protocol stream whose client did not set stream_options.include_usage:
// the gateway asks (its token limits need the count) and drops the usage
// event again before the client sees it.
bool needsUsageAsked(const RequestContext& ctx) {
    if (!ctx.stream || (ctx.route.kind != RouteKind::OpenAIChat && ctx.route.kind != RouteKind::OpenAICompletions)) return false;
    if (!ctx.body.contains("stream_options")) return true;
    const auto& options = ctx.body.at("stream_options");
    if (!options.is_object() || !options.contains("include_usage")) return true;
    const auto& include = options.at("include_usage");
    return !include.is_boolean() || !include.get<bool>();
}

// A frame that carries an answer: a non-blank NDJSON line, or an SSE event
// with a data line. SSE comments (": keep-alive", which some providers send
// while a model loads) and blank lines do not, so they cannot end the window
// in which a failing backend is still failed over.
bool carriesAnswer(Framing framing, std::string_view frame) {
    return framing == Framing::Ndjson ? frame.find_first_not_of(" \t\r\n") != std::string_view::npos
                                      : frame.starts_with("data:") || frame.find("\ndata:") != std::string_view::npos;
}

bool isErrorFrame(Framing framing, std::string_view frame) {
    const auto data = framing == Framing::Sse ? sseEventData(frame) : std::string(frame);
    if (!data) return false;
    const auto json = parseJson(*data);
    return json.is_object() && json.contains("error") && !json.contains("choices") && !json.contains("message");
}

// The event OpenAI sends for include_usage: no choices, only the usage.
bool isUsageOnlyEvent(std::string_view frame) {
    if (frame.find("\"usage\"") == std::string_view::npos) return false;
    const auto data = sseEventData(frame);
    if (!data) return false;
    const auto json = parseJson(*data);
    if (!json.is_object()) return false;
    const auto usage = json.find("usage");
    const auto choices = json.find("choices");
    return usage != json.end() && usage->is_object() && (choices == json.end() || (choices->is_array() && choices->empty()));
}

class PassThroughFilter final : public StreamFilter {
public:
    PassThroughFilter(Framing framing, bool stripUsage) : _framing(framing), _stripUsage(stripUsage) {}

    Step take(std::string_view frame, std::string& out) override {
        noteUsage(frame);
        if (_stripUsage && isUsageOnlyEvent(frame)) return Step::Quiet;
        const bool answer = carriesAnswer(_framing, frame);
        // The first answer frame decides whether the backend answered at all;
        // an error frame later is the backend's answer and passes as it is.
        if (answer && !_begun) {
            if (isErrorFrame(_framing, frame)) {
                _error = "the stream began with an error";
                return Step::Error;
            }
            _begun = true;
        }
        out.append(frame);
        return answer ? Step::Answer : Step::Quiet;
    }
    // A stream that ended cleanly answered if an answer frame came.
    bool finish(std::string&) override { return _begun; }
    const Usage& usage() const override { return _usage; }
    const std::string& error() const override { return _error; }

private:
    // Parses only the frames that can carry token counts (Ollama's done:true, OpenAI's usage).
    void noteUsage(std::string_view frame) {
        if (_framing == Framing::Ndjson) {
            if (frame.find("\"done\"") != std::string_view::npos) readUsage(parseJson(frame), _usage);
        } else if (frame.find("\"usage\"") != std::string_view::npos) {
            if (const auto data = sseEventData(frame)) readUsage(parseJson(*data), _usage);
        }
    }

    Framing _framing;
    bool _stripUsage;
    bool _begun = false;
    Usage _usage;
    std::string _error;
};
} // namespace

UpstreamRequest PassThrough::request(const DialectCall& call) const {
    const auto& ctx = call.ctx;
    UpstreamRequest request{upstreamPath(call.backend, ctx.route.name), std::nullopt};
    const bool renamed = call.servedModel != ctx.model;
    const bool askUsage = needsUsageAsked(ctx);
    if (ctx.bodyChanged || renamed || askUsage) {
        auto rewritten = ctx.body;
        if (renamed) rewritten["model"] = call.servedModel;
        if (askUsage) rewritten["stream_options"]["include_usage"] = true;
        request.body = rewritten.dump();
    }
    return request;
}

std::optional<ClientAnswer> PassThrough::whole(const DialectCall&, const nlohmann::json& answer, std::string bytes,
                                               const std::string& contentType, std::chrono::nanoseconds) const {
    ClientAnswer out{200, contentType, std::move(bytes), {}};
    readUsage(answer, out.usage);
    return out;
}

std::optional<StreamPlan> PassThrough::stream(const DialectCall& call, std::string_view contentType,
                                              std::chrono::steady_clock::time_point) const {
    std::optional<Framing> framing;
    if (contentType.find("ndjson") != std::string_view::npos) framing = Framing::Ndjson;
    else if (contentType.find("event-stream") != std::string_view::npos) framing = Framing::Sse;
    if (!framing) return std::nullopt;
    return StreamPlan{*framing, std::string(contentType),
                      std::make_unique<PassThroughFilter>(*framing, needsUsageAsked(call.ctx))};
}

} // namespace sluice::kernel
