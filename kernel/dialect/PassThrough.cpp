#include "PassThrough.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "BodyEdits.h"
#include "Usage.h"
#include "sluice/Json.h"
#include "translate/ChatEvents.h"
#include "translate/ResponsesStreamTranslator.h"

namespace sluice::kernel {

namespace {
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

// The client's bytes with the model renamed and the usage asked for, each
// as asked (BodyEdits); nullopt when the tree must make the edit.
std::optional<std::string> editedBytes(const DialectCall& call, bool renamed, bool askUsage) {
    // stream_options is there without include_usage: a member's member to set.
    if (askUsage && call.ctx.body.contains("stream_options")) return std::nullopt;
    std::optional<std::string> edited(std::in_place, call.clientBody);
    if (renamed) edited = withStringMember(*edited, "model", call.servedModel);
    if (edited && askUsage) edited = withFirstMember(*edited, R"("stream_options":{"include_usage":true})");
    return edited;
}

// The name of an SSE event: its `event:` line, or the "type" of its data
// (the Anthropic and Responses APIs name every event both ways).
std::string eventName(std::string_view frame) {
    if (frame.starts_with("event:")) {
        auto name = frame.substr(6);
        name = name.substr(0, name.find('\n'));
        while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.remove_prefix(1);
        while (!name.empty() && (name.back() == '\r' || name.back() == ' ')) name.remove_suffix(1);
        return std::string(name);
    }
    const auto data = sseEventData(frame);
    if (!data) return {};
    const auto json = parseJson(*data);
    return json.is_object() && json.contains("type") && json["type"].is_string() ? json["type"].get<std::string>() : std::string();
}

// How a protocol's stream says what its frames are. Ollama's NDJSON and
// OpenAI's Chat Completions SSE: any data is answer, and the body's end
// ends it. The Anthropic and Responses APIs name their events: some only
// open the answer (message_start, response.created), and one ends it.
struct FrameKind {
    bool answer = false;     // carries answer data: ends the failover window
    bool error = false;      // the backend reports an error
    bool end = false;        // the protocol's end marker
    bool malformed = false;  // data that is not JSON: the backend is broken
    bool finished = false;   // the answer's last frame: done:true, or a finish_reason
    bool doneMarker = false; // OpenAI's data: [DONE]
};

// Whether an Ollama line says the answer is complete, or an OpenAI chunk
// gives a choice's finish_reason.
bool finishes(const nlohmann::json& json) {
    if (!json.is_object()) return false;
    if (const auto done = json.find("done"); done != json.end()) return done->is_boolean() && done->get<bool>();
    const auto choices = json.find("choices");
    if (choices == json.end() || !choices->is_array()) return false;
    for (const auto& choice : *choices)
        if (choice.is_object() && choice.contains("finish_reason") && choice["finish_reason"].is_string()) return true;
    return false;
}

FrameKind kindOf(Protocol protocol, Framing framing, std::string_view frame) {
    FrameKind kind;
    if (protocol == Protocol::Anthropic || protocol == Protocol::OpenAIResponses) {
        const auto name = eventName(frame);
        if (name.empty()) return kind;  // a comment, a blank event
        // Events that only open the answer (the message, an empty text
        // block, an item or a part still without content) say nothing yet:
        // a backend that errs after them is still failed over. A tool call
        // is answer as soon as its block opens: it names the tool.
        if (protocol == Protocol::Anthropic) {
            kind.error = name == "error";
            kind.end = name == "message_stop";
            const bool opener = name == "message_start" || name == "ping" ||
                                (name == "content_block_start" && frame.find("_tool_use\"") == std::string_view::npos &&
                                 frame.find("\"tool_use\"") == std::string_view::npos);
            kind.answer = !kind.error && !opener;
        } else {
            kind.error = name == "error" || name == "response.failed";
            kind.end = name == "response.completed" || name == "response.incomplete";
            const bool opener = name == "response.created" || name == "response.in_progress" || name == "response.queued" ||
                                name == "response.output_item.added" || name == "response.content_part.added" ||
                                name == "response.reasoning_summary_part.added";
            kind.answer = !kind.error && !opener;
        }
        return kind;
    }
    // A non-blank NDJSON line, or an SSE event with a data line. SSE comments
    // (": keep-alive", which some providers send while a model loads) and
    // blank lines are not, so they cannot end the window in which a failing
    // backend is still failed over.
    kind.answer = framing == Framing::Ndjson ? frame.find_first_not_of(" \t\r\n") != std::string_view::npos
                                             : frame.starts_with("data:") || frame.find("\ndata:") != std::string_view::npos;
    if (kind.answer) {
        const auto data = framing == Framing::Sse ? sseEventData(frame) : std::string(frame);
        const auto json = data ? parseJson(*data) : nlohmann::json();
        kind.error = json.is_object() && json.contains("error") && !json.contains("choices") && !json.contains("message");
        kind.doneMarker = framing == Framing::Sse && data && *data == "[DONE]";
        kind.malformed = data && json.is_discarded() && !kind.doneMarker;
        kind.finished = finishes(json);
    }
    return kind;
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
    PassThroughFilter(Protocol protocol, Framing framing, bool stripUsage)
        : _protocol(protocol), _framing(framing), _stripUsage(stripUsage) {}

    Step take(std::string_view frame, std::string& out) override {
        if (_over) return *_over;  // the stream is over: nothing more is taken
        noteUsage(frame);
        if (_protocol == Protocol::OpenAIResponses) noteSequenceNumber(frame);
        if (_stripUsage && isUsageOnlyEvent(frame)) return Step::Quiet;
        const auto kind = kindOf(_protocol, _framing, frame);
        // The first answer frame decides whether the backend answered at all;
        // an error frame later is the backend's answer: it passes as it is
        // and ends the stream (nothing to add to it, nothing to continue).
        if (kind.error && !_begun) {
            _error = "the stream began with an error";
            return *(_over = Step::Error);
        }
        if (kind.error && (_protocol == Protocol::Ollama || _protocol == Protocol::OpenAI)) {
            out.append(frame);
            return *(_over = Step::Done);
        }
        // Passed on, a frame that is not JSON would break the client's
        // parser: the stream is broken from here (failed over before its
        // first answer frame, ended with an error or continued after).
        if (kind.malformed) {
            _error = "the backend sent a malformed frame";
            return *(_over = Step::Error);
        }
        if (kind.answer) _begun = true;
        if (kind.finished) _finished = true;
        if (kind.doneMarker) _sawDoneMarker = true;
        out.append(frame);
        // OpenAI's [DONE] and Ollama's done:true line end the answer.
        if (_begun && (kind.doneMarker || (_framing == Framing::Ndjson && kind.finished))) return *(_over = Step::Done);
        if (kind.end) return *(_over = Step::Done);
        return kind.answer ? Step::Answer : Step::Quiet;
    }
    // The Responses API numbers its events: the failure continues the count.
    std::optional<std::string> failureFrame(const std::string& message, const std::string& code) override {
        if (_protocol != Protocol::OpenAIResponses) return std::nullopt;
        return responsesFailedEvents(message, code, _nextSequenceNumber);
    }
    // A stream that ended cleanly answered if its last answer frame came
    // (Ollama's done:true, an OpenAI finish_reason: a body that ends before
    // them was cut, [DONE] or not); one whose protocol has an end marker,
    // only if that came (take() said Done).
    // An OpenAI stream whose answer finished but whose body ended without
    // `data: [DONE]` is given the marker its clients may wait for.
    bool finish(std::string& out) override {
        if (!_begun || !_finished || _protocol == Protocol::Anthropic || _protocol == Protocol::OpenAIResponses) return false;
        if (_framing == Framing::Sse && !_sawDoneMarker) {
            // The last event may have come without its blank line.
            if (!out.empty() && !out.ends_with("\n\n")) out.append(out.ends_with('\n') ? "\n" : "\n\n");
            out.append("data: [DONE]\n\n");
        }
        return true;
    }
    bool answered() const override { return _finished; }
    const Usage& usage() const override { return _usage; }
    const std::string& error() const override { return _error; }

private:
    // Parses only the frames that can carry token counts (Ollama's done:true, a usage object).
    void noteUsage(std::string_view frame) {
        if (_framing == Framing::Ndjson) {
            if (frame.find("\"done\"") != std::string_view::npos) readUsage(parseJson(frame), _usage);
        } else if (frame.find("\"usage\"") != std::string_view::npos) {
            if (const auto data = sseEventData(frame)) readUsage(parseJson(*data), _usage);
        }
    }

    // The number after the last "sequence_number" passed on (read without a
    // full parse: every Responses event carries one).
    void noteSequenceNumber(std::string_view frame) {
        static constexpr std::string_view kKey = "\"sequence_number\"";
        const auto at = frame.find(kKey);
        if (at == std::string_view::npos) return;
        auto rest = frame.substr(at + kKey.size());
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == ':')) rest.remove_prefix(1);
        std::uint64_t number = 0;
        const auto [end, problem] = std::from_chars(rest.data(), rest.data() + rest.size(), number);
        if (problem == std::errc() && end != rest.data() && number < UINT64_MAX) _nextSequenceNumber = std::max(_nextSequenceNumber, number + 1);
    }

    Protocol _protocol;
    Framing _framing;
    bool _stripUsage;
    bool _begun = false;
    bool _finished = false;     // the answer's last frame came (finishes())
    bool _sawDoneMarker = false;  // an OpenAI stream's data: [DONE]
    std::optional<Step> _over;  // Done or Error, once taken
    std::uint64_t _nextSequenceNumber = 0;
    Usage _usage;
    std::string _error;
};

// Header values a client sent that a backend's API reads: passed on only
// when printable, as they become header lines.
bool headerSafe(const std::string& value) {
    return !value.empty() && value.size() <= 1024 &&
           std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// Anthropic's API versions its wire format by header: the client's choice
// goes on (Ollama ignores it), else the version Sluice speaks when the
// backend requires one; its beta flags go on as they came.
std::vector<std::pair<std::string, std::string>> anthropicHeaders(const RequestContext& ctx, const Backend& backend) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (const auto* version = ctx.header("anthropic-version"); version && headerSafe(*version))
        headers.emplace_back("anthropic-version", *version);
    else
        headers = backend.apiHeaders();
    if (const auto* beta = ctx.header("anthropic-beta"); beta && headerSafe(*beta)) headers.emplace_back("anthropic-beta", *beta);
    return headers;
}
} // namespace

UpstreamRequest PassThrough::request(const DialectCall& call) const {
    const auto& ctx = call.ctx;
    UpstreamRequest request{backendPath(call.backend, ctx.route.name), std::nullopt, {}};
    if (client() == Protocol::Anthropic) request.headers = anthropicHeaders(ctx, call.backend);
    const bool renamed = call.servedModel != ctx.model;
    const bool askUsage = needsUsageAsked(ctx);
    if (!ctx.bodyChanged && (renamed || askUsage)) {
        if (auto edited = editedBytes(call, renamed, askUsage)) {
            request.body = std::move(*edited);
            return request;
        }
    }
    if (ctx.bodyChanged || renamed || askUsage) {
        auto rewritten = ctx.body;
        if (renamed) rewritten["model"] = call.servedModel;
        if (askUsage) rewritten["stream_options"]["include_usage"] = true;
        request.body = jsonText(rewritten);
    }
    return request;
}

std::optional<ClientAnswer> PassThrough::whole(const DialectCall&, AnswerJson& answer, const std::string& contentType,
                                               std::chrono::nanoseconds) const {
    // Byte for byte: the answer is read only for its counts.
    const auto usage = answer.usage();
    return ClientAnswer{200, contentType, answer.takeBytes(), usage};
}

std::optional<StreamPlan> PassThrough::stream(const DialectCall& call, std::string_view contentType,
                                              std::chrono::steady_clock::time_point) const {
    std::optional<Framing> framing;
    if (contentType.find("ndjson") != std::string_view::npos) framing = Framing::Ndjson;
    else if (contentType.find("event-stream") != std::string_view::npos) framing = Framing::Sse;
    if (!framing) return std::nullopt;
    return StreamPlan{*framing, std::string(contentType),
                      std::make_unique<PassThroughFilter>(client(), *framing, needsUsageAsked(call.ctx))};
}

} // namespace sluice::kernel
