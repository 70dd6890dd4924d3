#include "OllamaViaOpenAi.h"

#include <stdexcept>

#include "Usage.h"
#include "translate/ChatEvents.h"
#include "translate/OllamaOpenAi.h"
#include "translate/StreamTranslator.h"

namespace sluice::kernel {

namespace {
OllamaCall callOf(const RequestContext& ctx) {
    const auto call = translatableCall(ctx.route.kind);
    // dialectFor() chooses this dialect only for the routes serves() names.
    if (!call) throw std::logic_error("route " + std::string(ctx.route.name) + " has no OpenAI translation");
    return *call;
}

// StreamTranslator as the relay's filter: a translated line is the answer.
class TranslatingFilter final : public StreamFilter {
public:
    TranslatingFilter(OllamaCall call, const std::string& model, std::chrono::steady_clock::time_point started)
        : _translator(call, model, started) {}

    Step take(std::string_view event, std::string& out) override {
        const auto before = out.size();
        switch (_translator.take(event, out)) {
        case StreamTranslator::Step::Done: return Step::Done;
        case StreamTranslator::Step::Error: return Step::Error;
        case StreamTranslator::Step::More: break;
        }
        // A role-only opening event or a keep-alive comment says nothing to
        // the client yet: a backend that dies after one is still failed over.
        return out.size() > before ? Step::Answer : Step::Quiet;
    }
    bool finish(std::string& out) override { return _translator.done() || _translator.finish(out); }
    const Usage& usage() const override { return _translator.usage(); }
    const std::string& error() const override { return _translator.error(); }

private:
    StreamTranslator _translator;
};
} // namespace

bool OllamaViaOpenAi::serves(RouteKind kind) { return kind == RouteKind::OllamaShow || translatableCall(kind).has_value(); }

std::optional<ClientAnswer> OllamaViaOpenAi::ownAnswer(const DialectCall& call) const {
    if (call.ctx.route.kind != RouteKind::OllamaShow) return std::nullopt;
    return ClientAnswer{200, "application/json", jsonText(ollamaShowFor(call.servedModel)), {}};
}

UpstreamRequest OllamaViaOpenAi::request(const DialectCall& call) const {
    const auto ollamaCall = callOf(call.ctx);
    return {call.backend.basePath + std::string(openAiPath(ollamaCall)),
            toOpenAiRequest(ollamaCall, call.ctx.body, call.servedModel, call.ctx.stream)
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
            {}};
}

std::optional<ClientAnswer> OllamaViaOpenAi::whole(const DialectCall& call, AnswerJson& parsed, const std::string&,
                                                   std::chrono::nanoseconds elapsed) const {
    const auto& answer = parsed.tree();
    auto translated = toOllamaAnswer(callOf(call.ctx), answer, call.servedModel, elapsed);
    if (!translated) return std::nullopt;
    ClientAnswer out{200, "application/json", std::move(*translated), {}};
    // A provider that answers a stream request whole: the client still reads NDJSON.
    if (call.ctx.stream) {
        out.body += '\n';
        out.contentType = "application/x-ndjson";
    }
    readUsage(answer, out.usage);
    return out;
}

std::optional<StreamPlan> OllamaViaOpenAi::stream(const DialectCall& call, std::string_view contentType,
                                                  std::chrono::steady_clock::time_point started) const {
    if (contentType.find("event-stream") == std::string_view::npos) return std::nullopt;
    return StreamPlan{Framing::Sse, "application/x-ndjson",
                      std::make_unique<TranslatingFilter>(callOf(call.ctx), call.servedModel, started)};
}

} // namespace sluice::kernel
