// The dialects of the coding agents' doors (Anthropic Messages, OpenAI
// Responses): which one serves a call, by the backend's kind and native
// APIs; how a passed-through stream's named events open, end and fail the
// answer; the headers Anthropic's API reads; and the translating dialects'
// paths, whole answers to stream requests and stateless refusal.
#include <cppunit/extensions/HelperMacros.h>

#include <memory>

#include <nlohmann/json.hpp>

#include "TestBackend.h"
#include "dialect/Dialects.h"
#include "front/RouteTable.h"

namespace {

using nlohmann::json;
using sluice::Backend;
using sluice::BackendKind;
using sluice::NativeApi;
using sluice::RequestContext;
using sluice::kernel::AnswerJson;
using sluice::kernel::DialectCall;
using sluice::kernel::dialectFor;
using Step = sluice::kernel::StreamFilter::Step;

constexpr unsigned kBoth = static_cast<unsigned>(NativeApi::AnthropicMessages) | static_cast<unsigned>(NativeApi::OpenAIResponses);

Backend backendOf(BackendKind kind, unsigned nativeApis) {
    auto backend = sluice::test::backendOf(kind);
    backend.nativeApis = nativeApis;
    return backend;
}

std::unique_ptr<RequestContext> contextFor(const char* path, json body,
                                           std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto ctx = std::make_unique<RequestContext>();
    ctx->method = "POST";
    ctx->route = sluice::kernel::classify("POST", path).route;
    ctx->model = body.value("model", "");
    ctx->stream = body.value("stream", false);
    ctx->body = std::move(body);
    ctx->headers = std::move(headers);
    return ctx;
}

std::string event(const std::string& name, const json& data) { return "event: " + name + "\ndata: " + data.dump() + "\n\n"; }

class AgentDialectsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AgentDialectsTest);
    CPPUNIT_TEST(nativeApisDecidePassThroughOrTranslation);
    CPPUNIT_TEST(messagesStreamsBeginAtContentAndEndAtMessageStop);
    CPPUNIT_TEST(responsesStreamsBeginAtOutputAndEndAtCompleted);
    CPPUNIT_TEST(anthropicVersionAndBetaHeaders);
    CPPUNIT_TEST(translationGoesToChatCompletions);
    CPPUNIT_TEST(aWholeAnswerToAStreamRequestIsStillAStream);
    CPPUNIT_TEST(continuingAResponseIsRefusedByTranslation);
    CPPUNIT_TEST(whatOnlyANativeBackendTakesIsRefusedByTranslation);
    CPPUNIT_TEST_SUITE_END();

public:
    void nativeApisDecidePassThroughOrTranslation() {
        const auto messages = contextFor("/v1/messages", {{"model", "m"}, {"max_tokens", 5}});
        const auto responses = contextFor("/v1/responses", {{"model", "m"}, {"input", "hi"}});
        const auto chat = contextFor("/api/chat", {{"model", "m"}});
        const auto modernOllama = backendOf(BackendKind::Ollama, kBoth);
        const auto oldOllama = backendOf(BackendKind::Ollama, 0);
        const auto provider = backendOf(BackendKind::OpenAI, 0);
        const auto vllm = backendOf(BackendKind::OpenAI, static_cast<unsigned>(NativeApi::OpenAIResponses));
        const auto claude = backendOf(BackendKind::Anthropic, static_cast<unsigned>(NativeApi::AnthropicMessages));

        const auto* passMessages = dialectFor(messages->route, modernOllama);
        const auto* translateMessages = dialectFor(messages->route, oldOllama);
        CPPUNIT_ASSERT(passMessages && translateMessages && passMessages != translateMessages);
        CPPUNIT_ASSERT(dialectFor(messages->route, provider) == translateMessages);
        CPPUNIT_ASSERT(dialectFor(messages->route, claude) == passMessages);

        const auto* passResponses = dialectFor(responses->route, modernOllama);
        const auto* translateResponses = dialectFor(responses->route, provider);
        CPPUNIT_ASSERT(passResponses && translateResponses && passResponses != translateResponses);
        CPPUNIT_ASSERT(dialectFor(responses->route, vllm) == passResponses);
        CPPUNIT_ASSERT(dialectFor(responses->route, oldOllama) == translateResponses);
        // Anthropic's API serves Messages only.
        CPPUNIT_ASSERT(dialectFor(responses->route, claude) == nullptr);
        CPPUNIT_ASSERT(dialectFor(chat->route, claude) == nullptr);
    }

    void messagesStreamsBeginAtContentAndEndAtMessageStop() {
        const auto backend = backendOf(BackendKind::Ollama, kBoth);
        const auto ctx = contextFor("/v1/messages", {{"model", "m"}, {"max_tokens", 5}, {"stream", true}});
        const std::string model = "m";
        const auto& dialect = *dialectFor(ctx->route, backend);
        auto plan = dialect.stream(DialectCall{*ctx, backend, model}, "text/event-stream", {});
        std::string out;
        const auto start = event("message_start", {{"type", "message_start"}, {"message", {{"usage", {{"input_tokens", 7}, {"output_tokens", 1}}}}}});
        // The opening and a ping say nothing yet: a backend that dies here is failed over.
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take(start, out));
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take(event("ping", {{"type", "ping"}}), out));
        const auto emptyText = event("content_block_start", {{"type", "content_block_start"}, {"content_block", {{"type", "text"}, {"text", ""}}}});
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take(emptyText, out));
        CPPUNIT_ASSERT(Step::Answer == plan->filter->take(event("content_block_delta", {{"type", "content_block_delta"}}), out));
        // A body that ends here, before message_stop, was cut short.
        std::string tail;
        CPPUNIT_ASSERT(!plan->filter->finish(tail));
        const auto delta = event("message_delta", {{"type", "message_delta"}, {"usage", {{"output_tokens", 9}}}});
        CPPUNIT_ASSERT(Step::Answer == plan->filter->take(delta, out));
        CPPUNIT_ASSERT(Step::Done == plan->filter->take(event("message_stop", {{"type", "message_stop"}}), out));
        // Input from message_start, output from message_delta.
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{7}, plan->filter->usage().promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{9}, plan->filter->usage().completionTokens);
        CPPUNIT_ASSERT(out.starts_with(start));  // frames pass as they came

        plan = dialect.stream(DialectCall{*ctx, backend, model}, "text/event-stream", {});
        out.clear();
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take(start, out));
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take(emptyText, out));
        const auto overloaded = event("error", {{"type", "error"}, {"error", {{"type", "overloaded_error"}, {"message", "busy"}}}});
        CPPUNIT_ASSERT(Step::Error == plan->filter->take(overloaded, out));
        // Over is over: nothing more is taken.
        std::string after;
        CPPUNIT_ASSERT(Step::Error == plan->filter->take(event("content_block_delta", {{"type", "content_block_delta"}}), after));
        CPPUNIT_ASSERT(after.empty());

        // A tool call is answer as soon as its block names the tool.
        plan = dialect.stream(DialectCall{*ctx, backend, model}, "text/event-stream", {});
        const auto toolStart = event("content_block_start", {{"type", "content_block_start"},
                                                             {"content_block", {{"type", "tool_use"}, {"id", "t"}, {"name", "f"}}}});
        CPPUNIT_ASSERT(Step::Answer == plan->filter->take(toolStart, out));
    }

    void responsesStreamsBeginAtOutputAndEndAtCompleted() {
        const auto backend = backendOf(BackendKind::Ollama, kBoth);
        const auto ctx = contextFor("/v1/responses", {{"model", "m"}, {"input", "hi"}, {"stream", true}});
        const std::string model = "m";
        const auto& dialect = *dialectFor(ctx->route, backend);
        auto plan = dialect.stream(DialectCall{*ctx, backend, model}, "text/event-stream", {});
        std::string out;
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take(event("response.created", {{"type", "response.created"}}), out));
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take(event("response.in_progress", {{"type", "response.in_progress"}}), out));
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take(event("response.output_item.added", {{"type", "response.output_item.added"}}), out));
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take(event("response.content_part.added", {{"type", "response.content_part.added"}}), out));
        const auto delta = event("response.output_text.delta", {{"type", "response.output_text.delta"}, {"sequence_number", 4}});
        CPPUNIT_ASSERT(Step::Answer == plan->filter->take(delta, out));
        // A failure after it continues the stream's numbering, as an error and response.failed.
        const auto failure = plan->filter->failureFrame("the backend's stream broke off", "upstream_stream_failed");
        CPPUNIT_ASSERT(failure);
        CPPUNIT_ASSERT(failure->starts_with("event: error\ndata: "));
        CPPUNIT_ASSERT(failure->find("\"sequence_number\":5") != std::string::npos);
        CPPUNIT_ASSERT(failure->find("event: response.failed\n") != std::string::npos);
        CPPUNIT_ASSERT(failure->find("\"sequence_number\":6") != std::string::npos);
        const auto completed = event("response.completed",
                                     {{"type", "response.completed"}, {"response", {{"usage", {{"input_tokens", 3}, {"output_tokens", 4}}}}}});
        CPPUNIT_ASSERT(Step::Done == plan->filter->take(completed, out));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, plan->filter->usage().promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{4}, plan->filter->usage().completionTokens);

        plan = dialect.stream(DialectCall{*ctx, backend, model}, "text/event-stream", {});
        CPPUNIT_ASSERT(Step::Quiet == plan->filter->take(event("response.created", {{"type", "response.created"}}), out));
        CPPUNIT_ASSERT(Step::Error == plan->filter->take(event("response.failed", {{"type", "response.failed"}}), out));
    }

    void anthropicVersionAndBetaHeaders() {
        const std::string model = "m";
        const json body{{"model", "m"}, {"max_tokens", 5}};
        const auto claude = backendOf(BackendKind::Anthropic, static_cast<unsigned>(NativeApi::AnthropicMessages));
        const auto ollama = backendOf(BackendKind::Ollama, kBoth);
        const auto bare = contextFor("/v1/messages", body);
        const auto& dialect = *dialectFor(bare->route, claude);
        // Anthropic's API needs a version: Sluice's when the client named none.
        auto request = dialect.request(DialectCall{*bare, claude, model});
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/messages"), request.path);
        CPPUNIT_ASSERT(request.headers == (decltype(request.headers){{"anthropic-version", "2023-06-01"}}));
        // Ollama needs none; the client's pass on to either.
        CPPUNIT_ASSERT(dialect.request(DialectCall{*bare, ollama, model}).headers.empty());
        const auto versioned = contextFor("/v1/messages", body, {{"anthropic-version", "2024-10-22"}, {"anthropic-beta", "b1,b2"}});
        request = dialect.request(DialectCall{*versioned, claude, model});
        CPPUNIT_ASSERT(request.headers ==
                       (decltype(request.headers){{"anthropic-version", "2024-10-22"}, {"anthropic-beta", "b1,b2"}}));
        // A value that is not printable is not a header line of the client's making.
        const auto forged = contextFor("/v1/messages", body, {{"anthropic-beta", "x\r\nX-Evil: 1"}});
        CPPUNIT_ASSERT(dialect.request(DialectCall{*forged, ollama, model}).headers.empty());
    }

    void translationGoesToChatCompletions() {
        const std::string model = "served";
        const auto messages = contextFor("/v1/messages", {{"model", "m"}, {"max_tokens", 5}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}});
        const auto provider = backendOf(BackendKind::OpenAI, 0);
        const auto oldOllama = backendOf(BackendKind::Ollama, 0);
        const auto& dialect = *dialectFor(messages->route, provider);
        auto request = dialect.request(DialectCall{*messages, provider, model});
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/chat/completions"), request.path);  // the API base, then /chat/completions
        const auto sent = json::parse(*request.body);
        CPPUNIT_ASSERT_EQUAL(std::string("served"), sent["model"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("hi"), sent["messages"][0]["content"].get<std::string>());
        // Ollama serves Chat Completions under /v1.
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/chat/completions"), dialect.request(DialectCall{*messages, oldOllama, model}).path);
        const auto error = json::parse(dialect.errorBody(529, "busy", {}));
        CPPUNIT_ASSERT_EQUAL(std::string("overloaded_error"), error["error"]["type"].get<std::string>());
    }

    void aWholeAnswerToAStreamRequestIsStillAStream() {
        const std::string model = "served";
        const auto ctx = contextFor("/v1/messages", {{"model", "m"}, {"max_tokens", 5}, {"stream", true}, {"messages", json::array()}});
        const auto provider = backendOf(BackendKind::OpenAI, 0);
        const auto& dialect = *dialectFor(ctx->route, provider);
        const auto completion = json::parse(R"({"id":"c1","choices":[{"index":0,"finish_reason":"stop",
            "message":{"role":"assistant","content":"Hello"}}],"usage":{"prompt_tokens":3,"completion_tokens":1}})");
        AnswerJson parsed(completion.dump());
        const auto answer = dialect.whole(DialectCall{*ctx, provider, model}, parsed, "application/json", {});
        CPPUNIT_ASSERT(answer);
        CPPUNIT_ASSERT_EQUAL(std::string("text/event-stream"), answer->contentType);
        CPPUNIT_ASSERT(answer->body.starts_with("event: message_start\n"));
        CPPUNIT_ASSERT(answer->body.find("\"text\":\"Hello\"") != std::string::npos);
        CPPUNIT_ASSERT(answer->body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, answer->usage.completionTokens);
        // Not a completion: the backend failed.
        AnswerJson notACompletion(R"({"error":"x"})");
        CPPUNIT_ASSERT(!dialect.whole(DialectCall{*ctx, provider, model}, notACompletion, "application/json", {}));
    }

    void continuingAResponseIsRefusedByTranslation() {
        const std::string model = "m";
        const auto provider = backendOf(BackendKind::OpenAI, 0);
        const auto fresh = contextFor("/v1/responses", {{"model", "m"}, {"input", "hi"}});
        const auto continued = contextFor("/v1/responses", {{"model", "m"}, {"input", "hi"}, {"previous_response_id", "resp_1"}});
        const auto& dialect = *dialectFor(fresh->route, provider);
        CPPUNIT_ASSERT(!dialect.ownAnswer(DialectCall{*fresh, provider, model}));
        const auto refused = dialect.ownAnswer(DialectCall{*continued, provider, model});
        CPPUNIT_ASSERT(refused);
        CPPUNIT_ASSERT_EQUAL(400, refused->status);
        const auto body = json::parse(refused->body);
        CPPUNIT_ASSERT(body["error"]["message"].get<std::string>().find("send the whole conversation") != std::string::npos);
    }

    // Claude Code's web search blocks and Codex's custom tool calls pass the
    // front (a native backend takes them); a translation answers 400 itself.
    void whatOnlyANativeBackendTakesIsRefusedByTranslation() {
        const std::string model = "m";
        const auto provider = backendOf(BackendKind::OpenAI, 0);
        const auto ollama = backendOf(BackendKind::Ollama, kBoth);
        const auto messages = contextFor("/v1/messages", {{"model", "m"}, {"max_tokens", 5},
            {"messages", {{{"role", "assistant"}, {"content", {{{"type", "server_tool_use"}, {"id", "s"}, {"name", "web_search"}, {"input", json::object()}}}}}}}});
        const auto responses = contextFor("/v1/responses", {{"model", "m"},
            {"input", {{{"type", "custom_tool_call"}, {"call_id", "c"}, {"name", "apply_patch"}, {"input", "*** Begin Patch"}}}}});
        for (const auto* ctx : {messages.get(), responses.get()}) {
            CPPUNIT_ASSERT(!dialectFor(ctx->route, ollama)->ownAnswer(DialectCall{*ctx, ollama, model}));
            const auto refused = dialectFor(ctx->route, provider)->ownAnswer(DialectCall{*ctx, provider, model});
            CPPUNIT_ASSERT(refused);
            CPPUNIT_ASSERT_EQUAL(400, refused->status);
            CPPUNIT_ASSERT(refused->body.find("unknown") != std::string::npos);
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AgentDialectsTest);

} // namespace
