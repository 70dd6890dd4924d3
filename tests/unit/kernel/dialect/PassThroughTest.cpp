// The pass-through dialect's stream filter on Ollama NDJSON and OpenAI Chat
// Completions SSE: a frame that is not JSON breaks the stream instead of
// reaching the client, and a body that ends before done:true or a
// finish_reason was cut short.
#include <cppunit/extensions/HelperMacros.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "dialect/Dialects.h"
#include "TestBackend.h"
#include "front/RouteTable.h"

namespace {

using nlohmann::json;
using sluice::Backend;
using sluice::BackendKind;
using sluice::RequestContext;
using sluice::kernel::DialectCall;
using sluice::kernel::dialectFor;
using sluice::kernel::StreamPlan;
using Step = sluice::kernel::StreamFilter::Step;

using sluice::test::backendOf;

// A streamed chat call and the plan its pass-through dialect relays the answer by.
struct StreamCall {
    Backend backend;
    std::unique_ptr<RequestContext> ctx;
    std::string model = "m";
    StreamPlan plan;

    StreamCall(BackendKind kind, const char* path, json body, const char* contentType) : backend(backendOf(kind)) {
        ctx = std::make_unique<RequestContext>();
        ctx->method = "POST";
        ctx->route = sluice::kernel::classify("POST", path).route;
        ctx->model = body.value("model", "");
        ctx->stream = true;
        ctx->body = std::move(body);
        const auto* dialect = dialectFor(ctx->route, backend);
        CPPUNIT_ASSERT(dialect != nullptr);
        auto made = dialect->stream(DialectCall{*ctx, backend, model}, contentType, {});
        CPPUNIT_ASSERT(made);
        plan = std::move(*made);
    }
    Step take(std::string_view frame, std::string& out) { return plan.filter->take(frame, out); }
    bool finish(std::string& out) { return plan.filter->finish(out); }
    const std::string& error() const { return plan.filter->error(); }
};

StreamCall ollamaChat() {
    return StreamCall(BackendKind::Ollama, "/api/chat", {{"model", "m"}, {"messages", json::array()}, {"stream", true}},
                      "application/x-ndjson");
}

// The client asked for usage itself: no event is held back from it.
StreamCall openAiChat() {
    return StreamCall(BackendKind::OpenAI, "/v1/chat/completions",
                      {{"model", "m"}, {"stream", true}, {"stream_options", {{"include_usage", true}}}}, "text/event-stream");
}

const std::string kOllamaAnswer = "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"Hel\"},\"done\":false}\n";
const std::string kOllamaDone =
    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\","
    "\"prompt_eval_count\":3,\"eval_count\":2}\n";
const std::string kOpenAiRole = "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}\n\n";
const std::string kOpenAiContent =
    "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n";
const std::string kOpenAiStop = "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
const std::string kOpenAiDone = "data: [DONE]\n\n";

class PassThroughTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PassThroughTest);
    CPPUNIT_TEST(anOllamaLineThatIsNotJsonBreaksTheStream);
    CPPUNIT_TEST(aMalformedLineAfterTheAnswerBeganBreaksItToo);
    CPPUNIT_TEST(anOpenAiEventThatIsNotJsonBreaksTheStream);
    CPPUNIT_TEST(doneMarkerAndCommentsAreNotMalformed);
    CPPUNIT_TEST(ollamaStreamIsWholeOnlyAfterDoneTrue);
    CPPUNIT_TEST(openAiStreamIsWholeOnlyAfterAFinishReason);
    CPPUNIT_TEST_SUITE_END();

public:
    void anOllamaLineThatIsNotJsonBreaksTheStream() {
        for (const char* line : {"not json at all\n", "{\"message\":{\"content\":\"a\"}\n", "<html>502 Bad Gateway</html>\n"}) {
            auto call = ollamaChat();
            std::string out;
            CPPUNIT_ASSERT_MESSAGE(line, Step::Error == call.take(line, out));
            CPPUNIT_ASSERT_MESSAGE(line, out.empty());
            CPPUNIT_ASSERT_MESSAGE(call.error(), call.error().find("malformed") != std::string::npos);
            CPPUNIT_ASSERT(!call.finish(out));
        }
    }

    void aMalformedLineAfterTheAnswerBeganBreaksItToo() {
        auto call = ollamaChat();
        std::string out;
        CPPUNIT_ASSERT(Step::Answer == call.take(kOllamaAnswer, out));
        CPPUNIT_ASSERT(Step::Error == call.take("{\"message\":{\"content\":\"lo\"},\"do\n", out));
        CPPUNIT_ASSERT(call.error().find("malformed") != std::string::npos);
        // Only the answer before it reached the client; nothing after is taken.
        CPPUNIT_ASSERT_EQUAL(kOllamaAnswer, out);
        CPPUNIT_ASSERT(Step::Error == call.take(kOllamaDone, out));
        CPPUNIT_ASSERT_EQUAL(kOllamaAnswer, out);
    }

    void anOpenAiEventThatIsNotJsonBreaksTheStream() {
        auto call = openAiChat();
        std::string out;
        CPPUNIT_ASSERT(Step::Error == call.take("data: {\"broken\n\n", out));
        CPPUNIT_ASSERT(out.empty());
        CPPUNIT_ASSERT_MESSAGE(call.error(), call.error().find("malformed") != std::string::npos);

        auto later = openAiChat();
        out.clear();
        CPPUNIT_ASSERT(Step::Answer == later.take(kOpenAiContent, out));
        CPPUNIT_ASSERT(Step::Error == later.take("data: {\"broken\n\n", out));
        CPPUNIT_ASSERT(later.error().find("malformed") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(kOpenAiContent, out);
        CPPUNIT_ASSERT(!later.finish(out));
    }

    void doneMarkerAndCommentsAreNotMalformed() {
        auto call = openAiChat();
        std::string out;
        CPPUNIT_ASSERT(Step::Quiet == call.take(": keep-alive\n\n", out));
        CPPUNIT_ASSERT(Step::Answer == call.take(kOpenAiContent, out));
        CPPUNIT_ASSERT(Step::Answer == call.take(kOpenAiStop, out));
        const auto done = call.take(kOpenAiDone, out);
        CPPUNIT_ASSERT(done != Step::Error);
        CPPUNIT_ASSERT(call.error().empty());
        CPPUNIT_ASSERT(out.ends_with(kOpenAiDone));
        CPPUNIT_ASSERT(call.finish(out));

        auto ollama = ollamaChat();
        out.clear();
        CPPUNIT_ASSERT(Step::Quiet == ollama.take("\n", out));
        CPPUNIT_ASSERT(Step::Quiet == ollama.take("  \r\n", out));
        CPPUNIT_ASSERT(ollama.error().empty());
    }

    void ollamaStreamIsWholeOnlyAfterDoneTrue() {
        auto cut = ollamaChat();
        std::string out;
        CPPUNIT_ASSERT(Step::Answer == cut.take(kOllamaAnswer, out));
        CPPUNIT_ASSERT(Step::Answer == cut.take(kOllamaAnswer, out));
        // "done":false, or a done that is not a boolean true, is not the end.
        CPPUNIT_ASSERT(Step::Answer == cut.take("{\"message\":{\"content\":\"\"},\"done\":\"true\"}\n", out));
        CPPUNIT_ASSERT(!cut.finish(out));

        // done:true is the end: the relay stops there; a break after it loses nothing.
        auto whole = ollamaChat();
        out.clear();
        CPPUNIT_ASSERT(Step::Answer == whole.take(kOllamaAnswer, out));
        CPPUNIT_ASSERT(!whole.plan.filter->answered());
        CPPUNIT_ASSERT(Step::Done == whole.take(kOllamaDone, out));
        CPPUNIT_ASSERT(whole.plan.filter->answered());
        CPPUNIT_ASSERT(whole.finish(out));
        CPPUNIT_ASSERT_EQUAL(kOllamaAnswer + kOllamaDone, out);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, whole.plan.filter->usage().completionTokens);
    }

    void openAiStreamIsWholeOnlyAfterAFinishReason() {
        // Content without any finish_reason is cut; [DONE] still ends the
        // stream (take() says Done, and the relay asks finish() no more).
        auto cut = openAiChat();
        std::string out;
        CPPUNIT_ASSERT(Step::Answer == cut.take(kOpenAiRole, out));
        CPPUNIT_ASSERT(Step::Answer == cut.take(kOpenAiContent, out));
        CPPUNIT_ASSERT(!cut.finish(out));
        auto cutWithDone = openAiChat();
        out.clear();
        cutWithDone.take(kOpenAiContent, out);
        CPPUNIT_ASSERT(Step::Error != cutWithDone.take(kOpenAiDone, out));
        CPPUNIT_ASSERT(!cutWithDone.finish(out));

        // The finish_reason chunk alone is enough; the client is then given
        // the [DONE] the backend left out.
        auto whole = openAiChat();
        out.clear();
        CPPUNIT_ASSERT(Step::Answer == whole.take(kOpenAiContent, out));
        CPPUNIT_ASSERT(Step::Answer == whole.take(kOpenAiStop, out));
        CPPUNIT_ASSERT(whole.finish(out));
        CPPUNIT_ASSERT_EQUAL(kOpenAiContent + kOpenAiStop + "data: [DONE]\n\n", out);
        // [DONE] ends the stream; with it, nothing is added.
        auto withDone = openAiChat();
        out.clear();
        withDone.take(kOpenAiContent, out);
        withDone.take(kOpenAiStop, out);
        CPPUNIT_ASSERT(withDone.plan.filter->answered());
        CPPUNIT_ASSERT(Step::Done == withDone.take(kOpenAiDone, out));
        CPPUNIT_ASSERT(withDone.finish(out));
        CPPUNIT_ASSERT_EQUAL(kOpenAiContent + kOpenAiStop + kOpenAiDone, out);
        // A last event without its blank line is closed before the [DONE] added.
        auto unterminated = openAiChat();
        out.clear();
        unterminated.take(kOpenAiContent, out);
        const std::string stopWithoutBlankLine = kOpenAiStop.substr(0, kOpenAiStop.size() - 1);
        unterminated.take(stopWithoutBlankLine, out);
        CPPUNIT_ASSERT(unterminated.finish(out));
        CPPUNIT_ASSERT_EQUAL(kOpenAiContent + kOpenAiStop + kOpenAiDone, out);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PassThroughTest);

} // namespace
