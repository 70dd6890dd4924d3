// The dialects: which one serves a call on a backend, what each sends, and
// how their stream filters read frames; and the failure table.
#include <cppunit/extensions/HelperMacros.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "dialect/Dialects.h"
#include "TestBackend.h"
#include "front/RouteTable.h"
#include "upstream/FailureTable.h"

namespace {

using nlohmann::json;
using sluice::Backend;
using sluice::BackendKind;
using sluice::RequestContext;
using sluice::kernel::AnswerJson;
using sluice::kernel::DialectCall;
using sluice::kernel::dialectFor;
using sluice::kernel::Framing;
using Step = sluice::kernel::StreamFilter::Step;

using sluice::test::backendOf;

// A context is not copyable: tests hold theirs by pointer.
std::unique_ptr<RequestContext> contextFor(const char* method, const char* path, json body) {
    auto ctx = std::make_unique<RequestContext>();
    ctx->method = method;
    ctx->route = sluice::kernel::classify(method, path).route;
    ctx->model = body.value("model", "");
    ctx->body = std::move(body);
    return ctx;
}

class DialectsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DialectsTest);
    CPPUNIT_TEST(eachPairHasItsDialect);
    CPPUNIT_TEST(passThroughSendsTheClientsBytesUnlessItMustRewrite);
    CPPUNIT_TEST(passThroughAsksForUsageAndDropsItAgain);
    CPPUNIT_TEST(passThroughFailsOverOnlyOnAFirstErrorFrame);
    CPPUNIT_TEST(passThroughReadsItsFramingFromTheContentType);
    CPPUNIT_TEST(ollamaViaOpenAiTranslatesAndAnswersShowItself);
    CPPUNIT_TEST(translatedStreamBeginsWithItsFirstLine);
    CPPUNIT_TEST(failureTableNamesNoBackend);
    CPPUNIT_TEST_SUITE_END();

public:
    void eachPairHasItsDialect() {
        const auto ollama = backendOf(BackendKind::Ollama);
        const auto openAi = backendOf(BackendKind::OpenAI);
        const auto chat = contextFor("POST", "/api/chat", {{"model", "m"}});
        const auto openAiChat = contextFor("POST", "/v1/chat/completions", {{"model", "m"}});
        CPPUNIT_ASSERT(dialectFor(chat->route, ollama) != nullptr);
        CPPUNIT_ASSERT(dialectFor(openAiChat->route, ollama) != nullptr);
        CPPUNIT_ASSERT(dialectFor(openAiChat->route, openAi) != nullptr);
        // An Ollama call to an OpenAI-only backend is translated: another dialect.
        CPPUNIT_ASSERT(dialectFor(chat->route, openAi) != dialectFor(chat->route, ollama));
        // /api/ps has no OpenAI counterpart.
        const auto ps = contextFor("GET", "/api/ps", json::object());
        CPPUNIT_ASSERT(dialectFor(ps->route, openAi) == nullptr);
    }

    void passThroughSendsTheClientsBytesUnlessItMustRewrite() {
        const auto backend = backendOf(BackendKind::Ollama);
        auto ctx = contextFor("POST", "/api/chat", {{"model", "fast"}, {"messages", json::array()}});
        const auto& dialect = *dialectFor(ctx->route, backend);
        const std::string same = "fast";
        auto request = dialect.request(DialectCall{*ctx, backend, same});
        CPPUNIT_ASSERT_EQUAL(std::string("/api/chat"), request.path);
        CPPUNIT_ASSERT(!request.body);
        const std::string renamed = "llama3.2:latest";
        request = dialect.request(DialectCall{*ctx, backend, renamed});
        CPPUNIT_ASSERT(request.body);
        CPPUNIT_ASSERT_EQUAL(renamed, json::parse(*request.body).at("model").get<std::string>());
        // An OpenAI-kind backend's base path replaces /v1.
        const auto provider = backendOf(BackendKind::OpenAI);
        auto openAiCtx = contextFor("POST", "/v1/chat/completions", {{"model", "fast"}});
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/chat/completions"),
                             dialectFor(openAiCtx->route, provider)->request(DialectCall{*openAiCtx, provider, same}).path);
    }

    void passThroughAsksForUsageAndDropsItAgain() {
        const auto backend = backendOf(BackendKind::OpenAI);
        auto ctx = contextFor("POST", "/v1/chat/completions", {{"model", "m"}, {"stream", true}});
        ctx->stream = true;
        const std::string model = "m";
        const auto& dialect = *dialectFor(ctx->route, backend);
        const auto request = dialect.request(DialectCall{*ctx, backend, model});
        CPPUNIT_ASSERT(request.body);
        CPPUNIT_ASSERT(json::parse(*request.body).at("stream_options").at("include_usage").get<bool>());

        auto plan = dialect.stream(DialectCall{*ctx, backend, model}, "text/event-stream", {});
        CPPUNIT_ASSERT(plan);
        std::string out;
        CPPUNIT_ASSERT(Step::Answer == plan->filter->take("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n", out));
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n", out));
        CPPUNIT_ASSERT(out.find("usage") == std::string::npos);
        CPPUNIT_ASSERT(plan->filter->usage().reported);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, plan->filter->usage().promptTokens);

        // A client that asked for usage gets it.
        ctx->body["stream_options"] = {{"include_usage", true}};
        CPPUNIT_ASSERT(!dialect.request(DialectCall{*ctx, backend, model}).body);
        plan = dialect.stream(DialectCall{*ctx, backend, model}, "text/event-stream", {});
        out.clear();
        plan->filter->take("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n", out);
        CPPUNIT_ASSERT(out.find("usage") != std::string::npos);
    }

    void passThroughFailsOverOnlyOnAFirstErrorFrame() {
        const auto backend = backendOf(BackendKind::Ollama);
        const auto ctx = contextFor("POST", "/api/chat", {{"model", "m"}});
        const std::string model = "m";
        const auto& dialect = *dialectFor(ctx->route, backend);
        auto plan = dialect.stream(DialectCall{*ctx, backend, model}, "application/x-ndjson", {});
        std::string out;
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take("\n", out));
        CPPUNIT_ASSERT(Step::Error == plan->filter->take("{\"error\":\"model failed to load\"}\n", out));
        CPPUNIT_ASSERT(!plan->filter->finish(out));

        plan = dialect.stream(DialectCall{*ctx, backend, model}, "application/x-ndjson", {});
        out.clear();
        CPPUNIT_ASSERT(Step::Answer == plan->filter->take("{\"message\":{\"content\":\"a\"}}\n", out));
        // Later, an error line is the backend's answer, passed on as it is,
        // and the end of the stream: nothing after it is taken.
        CPPUNIT_ASSERT(Step::Done == plan->filter->take("{\"error\":\"cut\"}\n", out));
        CPPUNIT_ASSERT(Step::Done == plan->filter->take("{\"done\":true,\"prompt_eval_count\":2,\"eval_count\":5}\n", out));
        CPPUNIT_ASSERT_EQUAL(std::string("{\"message\":{\"content\":\"a\"}}\n{\"error\":\"cut\"}\n"), out);

        // The done:true line ends an answer, with its counts.
        plan = dialect.stream(DialectCall{*ctx, backend, model}, "application/x-ndjson", {});
        out.clear();
        CPPUNIT_ASSERT(Step::Answer == plan->filter->take("{\"message\":{\"content\":\"a\"}}\n", out));
        CPPUNIT_ASSERT(Step::Done == plan->filter->take("{\"done\":true,\"prompt_eval_count\":2,\"eval_count\":5}\n", out));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{5}, plan->filter->usage().completionTokens);
    }

    void passThroughReadsItsFramingFromTheContentType() {
        const auto backend = backendOf(BackendKind::Ollama);
        const auto ctx = contextFor("POST", "/api/chat", {{"model", "m"}});
        const std::string model = "m";
        const auto& dialect = *dialectFor(ctx->route, backend);
        CPPUNIT_ASSERT(Framing::Ndjson == dialect.stream(DialectCall{*ctx, backend, model}, "application/x-ndjson", {})->framing);
        CPPUNIT_ASSERT(Framing::Sse == dialect.stream(DialectCall{*ctx, backend, model}, "text/event-stream; charset=utf-8", {})->framing);
        CPPUNIT_ASSERT(!dialect.stream(DialectCall{*ctx, backend, model}, "application/json", {}));
        // As parsed off the wire: counts are unsigned.
        const std::string answer = "{\"done\":true,\"eval_count\":4}";
        AnswerJson parsed(answer);
        const auto whole = dialect.whole(DialectCall{*ctx, backend, model}, parsed, "application/json", {});
        CPPUNIT_ASSERT(whole);
        CPPUNIT_ASSERT_EQUAL(std::string("{\"done\":true,\"eval_count\":4}"), whole->body);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{4}, whole->usage.completionTokens);
    }

    void ollamaViaOpenAiTranslatesAndAnswersShowItself() {
        const auto backend = backendOf(BackendKind::OpenAI);
        const auto show = contextFor("POST", "/api/show", {{"model", "gpt"}});
        const std::string model = "gpt-4o";
        const auto& dialect = *dialectFor(show->route, backend);
        const auto own = dialect.ownAnswer(DialectCall{*show, backend, model});
        CPPUNIT_ASSERT(own);
        CPPUNIT_ASSERT_EQUAL(200, own->status);
        CPPUNIT_ASSERT(json::parse(own->body).is_object());

        auto chat = contextFor("POST", "/api/chat", {{"model", "gpt"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}});
        chat->stream = false;
        CPPUNIT_ASSERT(!dialect.ownAnswer(DialectCall{*chat, backend, model}));
        const auto request = dialect.request(DialectCall{*chat, backend, model});
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/chat/completions"), request.path);
        CPPUNIT_ASSERT_EQUAL(model, json::parse(*request.body).at("model").get<std::string>());
        // Not a chat completion: the backend failed.
        AnswerJson unexpected(R"({"unexpected":1})");
        CPPUNIT_ASSERT(!dialect.whole(DialectCall{*chat, backend, model}, unexpected, "application/json", {}));
        // Errors are Ollama's shape.
        CPPUNIT_ASSERT(json::parse(dialect.errorBody(502, "x", "y")).at("error").is_string());
    }

    void translatedStreamBeginsWithItsFirstLine() {
        const auto backend = backendOf(BackendKind::OpenAI);
        auto chat = contextFor("POST", "/api/chat", {{"model", "gpt"}, {"messages", json::array()}});
        chat->stream = true;
        const std::string model = "gpt-4o";
        const auto& dialect = *dialectFor(chat->route, backend);
        CPPUNIT_ASSERT(!dialect.stream(DialectCall{*chat, backend, model}, "application/json", {}));
        auto plan = dialect.stream(DialectCall{*chat, backend, model}, "text/event-stream", {});
        CPPUNIT_ASSERT(plan);
        CPPUNIT_ASSERT_EQUAL(std::string("application/x-ndjson"), plan->contentType);
        std::string out;
        // A role-only opening event says nothing yet.
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n", out));
        CPPUNIT_ASSERT(out.empty());
        CPPUNIT_ASSERT(Step::Answer == plan->filter->take("data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n", out));
        CPPUNIT_ASSERT(Step::Done == plan->filter->take("data: [DONE]\n\n", out));
        CPPUNIT_ASSERT(out.find("\"done\":true") != std::string::npos);
    }

    void failureTableNamesNoBackend() {
        using sluice::kernel::answerForFailure;
        using sluice::kernel::Failure;
        using sluice::kernel::UpstreamOutcome;
        const auto ctx = contextFor("POST", "/v1/chat/completions", {{"model", "m"}});
        CPPUNIT_ASSERT_EQUAL(503, answerForFailure(std::nullopt, false, *ctx).status);
        CPPUNIT_ASSERT_EQUAL(400, answerForFailure(std::nullopt, true, *ctx).status);
        CPPUNIT_ASSERT_EQUAL(502, answerForFailure(Failure{UpstreamOutcome::ConnectError, "refused by 10.0.0.5", {}}, false, *ctx).status);
        CPPUNIT_ASSERT_EQUAL(504, answerForFailure(Failure{UpstreamOutcome::Timeout, "", {}}, false, *ctx).status);
        const auto busy = answerForFailure(Failure{UpstreamOutcome::Status429, "", {}}, false, *ctx);
        CPPUNIT_ASSERT_EQUAL(429, busy.status);
        CPPUNIT_ASSERT_EQUAL(std::string("1"), busy.retryAfter);
        CPPUNIT_ASSERT_EQUAL(std::string("7"), answerForFailure(Failure{UpstreamOutcome::Status429, "", "7"}, false, *ctx).retryAfter);
        CPPUNIT_ASSERT_EQUAL(std::string("The model 'm' does not exist"),
                             answerForFailure(Failure{UpstreamOutcome::ModelNotFound, "", {}}, false, *ctx).message);
        for (auto kind : {UpstreamOutcome::ConnectError, UpstreamOutcome::Timeout, UpstreamOutcome::Status5xx,
                          UpstreamOutcome::Broken, UpstreamOutcome::UpstreamAuth})
            CPPUNIT_ASSERT(answerForFailure(Failure{kind, "backend gpu at 10.0.0.5", {}}, false, *ctx).message.find("10.0.0.5") ==
                           std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DialectsTest);

} // namespace
