// The coding agents' doors (/v1/messages, /v1/responses) get the same
// gateway as every other route: the audit trail names their route and
// counts their tokens from each protocol's usage fields, token limits charge
// them and refuse in the protocol's shape, and what a backend's API needs
// reaches it (Anthropic's key and version headers, the client's trace
// context). Also the Ollama heartbeat and percent-encoded model ids. The
// clients' own view of these doors is tests/e2e/agents.test.mjs.

#include <cppunit/extensions/HelperMacros.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "ScratchDir.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {
const std::string kTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::string messagesRequest(const std::string& model, bool stream) {
    return nlohmann::json{{"model", model},
                          {"max_tokens", 64},
                          {"stream", stream},
                          {"messages", {{{"role", "user"}, {"content", "What is the weather in Lisbon?"}}}}}
        .dump();
}

std::string responsesRequest(const std::string& model, bool stream) {
    return nlohmann::json{{"model", model}, {"stream", stream}, {"input", "What is the weather in Lisbon?"}}.dump();
}
} // namespace

class AgentDoorsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AgentDoorsTest);
    CPPUNIT_TEST(auditRecordsNameTheDoorAndCountItsTokens);
    CPPUNIT_TEST(tokenLimitsChargeBothDoorsAndRefuseInTheirShape);
    CPPUNIT_TEST(anthropicBackendsGetTheirKeyAndVersion);
    CPPUNIT_TEST(aBackendWithoutTheApiIsTranslated);
    CPPUNIT_TEST(traceContextReachesTheBackendAndTheAccessLog);
    CPPUNIT_TEST(ollamaHeartbeatAndEncodedModelIds);
    CPPUNIT_TEST(anImageTooLargeIsRefusedInTheDoorsShape);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _dir = std::make_unique<ScratchDir>("sluice-agent-doors");
        _ollama = std::make_unique<FakeBackend>("ollama", "local");
        _openAi = std::make_unique<FakeBackend>("openai", "cloud", std::vector<std::string>{"--models", "gpt-4o-mini"});
        _config = baseConfig() + "backends = local, cloud\n" + backendConfig("local", _ollama->url()) +
                  backendConfig("cloud", _openAi->url(), "openai") + "log.format = json\n";
    }
    void tearDown() override {
        _ollama.reset();
        _openAi.reset();
        _dir.reset();
    }

    void auditRecordsNameTheDoorAndCountItsTokens() {
        TestGateway gateway(_config + "pipeline.audit = jsonl\naudit.flush_ms = 50\n"
                                      "audit.jsonl.path = " + (_dir->path / "audit.jsonl").string() + "\n"
                                      "audit.spill_dir = " + (_dir->path / "spill").string() + "\n");
        // Passed through and translated, whole and streamed: the fakes count
        // 6 prompt words and 5 answer pieces, reported in each API's own fields.
        const std::vector<std::pair<std::string, std::string>> calls{
            {"/v1/messages", messagesRequest("llama3.2", false)},   {"/v1/messages", messagesRequest("gpt-4o-mini", true)},
            {"/v1/responses", responsesRequest("llama3.2", true)},  {"/v1/responses", responsesRequest("gpt-4o-mini", false)},
        };
        std::vector<std::pair<std::string, std::string>> ids;  // request id, route
        for (const auto& [path, body] : calls) {
            const auto answer = httpPost(gateway.port(), path, body);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, 200, answer.status);
            ids.emplace_back(answer.header("x-request-id"), path);
        }
        for (const auto& [id, route] : ids) {
            const auto record = auditRecord(id);
            CPPUNIT_ASSERT_EQUAL(route, record["route"].get<std::string>());
            CPPUNIT_ASSERT_EQUAL(6, record["prompt_tokens"].get<int>());
            CPPUNIT_ASSERT_EQUAL(5, record["completion_tokens"].get<int>());
            CPPUNIT_ASSERT(!record["tokens_estimated"].get<bool>());
        }
    }

    void tokenLimitsChargeBothDoorsAndRefuseInTheirShape() {
        TestGateway gateway(_config + "pipeline.limits = ratelimit\nlimits.default_rpm = 0\nlimits.default_tpm = 40\n"
                                      "limits.max_num_predict = 0\n");
        // Each answer is charged what it reported: 6 + 5 tokens.
        const auto first = httpPost(gateway.port(), "/v1/responses", responsesRequest("gpt-4o-mini", true));
        CPPUNIT_ASSERT_EQUAL(200, first.status);
        const auto second = httpPost(gateway.port(), "/v1/messages",
                                     nlohmann::json{{"model", "llama3.2"}, {"max_tokens", 5}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}}.dump());
        CPPUNIT_ASSERT_EQUAL(200, second.status);
        // 40 - 11 charged - this request's reservation (its prompt, about 2, and max_tokens 5).
        const auto remaining = std::stoi(second.header("x-ratelimit-remaining-tokens"));
        CPPUNIT_ASSERT_MESSAGE(second.header("x-ratelimit-remaining-tokens"), remaining >= 40 - 11 - 8 && remaining <= 40 - 11 - 5);
        // Spend the rest, then each door refuses in its own shape.
        while (httpPost(gateway.port(), "/v1/responses", responsesRequest("llama3.2", false)).status == 200) {}
        const auto anthropic = httpPost(gateway.port(), "/v1/messages", messagesRequest("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(429, anthropic.status);
        CPPUNIT_ASSERT_EQUAL(std::string("error"), anthropic.json()["type"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("rate_limit_error"), anthropic.json()["error"]["type"].get<std::string>());
        const auto responses = httpPost(gateway.port(), "/v1/responses", responsesRequest("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(429, responses.status);
        CPPUNIT_ASSERT(responses.json()["error"]["message"].get<std::string>().find("tokens per minute") != std::string::npos);
    }

    void anthropicBackendsGetTheirKeyAndVersion() {
        FakeBackend claude("anthropic", "claude", {"--models", "claude-sonnet-4-5", "--token", "sk-ant-upstream"});
        TestGateway gateway(baseConfig() + "backends = claude\n" + backendConfig("claude", claude.url(), "anthropic") +
                            "backends.claude.auth.token = sk-ant-upstream\n");
        CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/v1/messages", messagesRequest("claude-sonnet-4-5", false)).status);
        auto headers = claude.stats()["last_request"]["headers"];
        CPPUNIT_ASSERT_EQUAL(std::string("sk-ant-upstream"), headers["x-api-key"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("2023-06-01"), headers["anthropic-version"].get<std::string>());
        // The client's version and beta flags go on as they came.
        const auto answer = httpPost(gateway.port(), "/v1/messages", messagesRequest("claude-sonnet-4-5", true),
                                     {{"anthropic-version", "2024-10-22"}, {"anthropic-beta", "tools-2024-05-16"}});
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT(answer.body.find("event: message_stop") != std::string::npos);
        headers = claude.stats()["last_request"]["headers"];
        CPPUNIT_ASSERT_EQUAL(std::string("2024-10-22"), headers["anthropic-version"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("tools-2024-05-16"), headers["anthropic-beta"].get<std::string>());
        // Other doors cannot reach an Anthropic-only model.
        const auto chat = httpPost(gateway.port(), "/v1/chat/completions", openAiChat("claude-sonnet-4-5", false));
        CPPUNIT_ASSERT_EQUAL(400, chat.status);
        CPPUNIT_ASSERT_EQUAL(std::string("unsupported_protocol"), chat.json()["error"]["code"].get<std::string>());
    }

    void aBackendWithoutTheApiIsTranslated() {
        // An Ollama older than the agents' APIs: told so, the gateway translates to /v1/chat/completions.
        FakeBackend old("ollama", "old", {"--apis="});
        TestGateway gateway(baseConfig() + "backends = old\n" + backendConfig("old", old.url()) + "backends.old.native_apis = none\n");
        const auto messages = httpPost(gateway.port(), "/v1/messages", messagesRequest("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(messages.body, 200, messages.status);
        CPPUNIT_ASSERT_EQUAL(std::string("message"), messages.json()["type"].get<std::string>());
        const auto responses = httpPost(gateway.port(), "/v1/responses", responsesRequest("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(responses.body, 200, responses.status);
        CPPUNIT_ASSERT(responses.body.find("event: response.completed") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(2, requestsAt(old, "/v1/chat/completions"));
        CPPUNIT_ASSERT_EQUAL(0, requestsAt(old, "/v1/messages") + requestsAt(old, "/v1/responses"));
    }

    void traceContextReachesTheBackendAndTheAccessLog() {
        TestGateway gateway(_config);
        const auto answer = httpPost(gateway.port(), "/v1/messages", messagesRequest("llama3.2", false),
                                     {{"traceparent", kTraceparent}, {"tracestate", "vendor=abc"}});
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        const auto headers = _ollama->stats()["last_request"]["headers"];
        CPPUNIT_ASSERT_EQUAL(kTraceparent, headers["traceparent"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("vendor=abc"), headers["tracestate"].get<std::string>());
        const auto id = answer.header("x-request-id");
        CPPUNIT_ASSERT(eventually([&] {
            for (const auto& line : ndjsonLines(gateway.output()))
                if (line.value("logger", "") == "sluice.access" && line.value("request_id", "") == id)
                    return line.value("traceparent", "") == kTraceparent;
            return false;
        }));
        // A malformed one is not passed on (it would be a header line of the client's making).
        CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false),
                                           {{"traceparent", "00-zz-not-a-trace-01"}, {"tracestate", "vendor=abc"}})
                                      .status);
        const auto after = _ollama->stats()["last_request"]["headers"];
        CPPUNIT_ASSERT(!after.contains("traceparent"));
        CPPUNIT_ASSERT(!after.contains("tracestate"));
    }

    void ollamaHeartbeatAndEncodedModelIds() {
        TestGateway gateway(_config + "aliases.team/chat.chain = local/llama3.2\n");
        const auto root = httpGet(gateway.port(), "/");
        CPPUNIT_ASSERT_EQUAL(200, root.status);
        CPPUNIT_ASSERT_EQUAL(std::string("Ollama is running"), root.body);
        HttpClient client(gateway.port());
        const auto head = client.send("HEAD", "/", "", {});
        CPPUNIT_ASSERT_EQUAL(200, head.status);
        CPPUNIT_ASSERT(head.body.empty());
        const auto model = httpGet(gateway.port(), "/v1/models/team%2Fchat");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(model.body, 200, model.status);
        CPPUNIT_ASSERT_EQUAL(std::string("team/chat"), model.json()["id"].get<std::string>());
        const auto anthropic = httpGet(gateway.port(), "/v1/models/llama3.2%3Alatest", {{"anthropic-version", "2023-06-01"}});
        CPPUNIT_ASSERT_EQUAL(200, anthropic.status);
        CPPUNIT_ASSERT_EQUAL(std::string("model"), anthropic.json()["type"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), anthropic.json()["display_name"].get<std::string>());
    }

    void anImageTooLargeIsRefusedInTheDoorsShape() {
        TestGateway gateway(_config + "limits.max_body_bytes = 65536\n");
        const nlohmann::json image{{"type", "image"},
                                   {"source", {{"type", "base64"}, {"media_type", "image/png"}, {"data", std::string(100000, 'A')}}}};
        const auto big = nlohmann::json{{"model", "llama3.2"},
                                        {"max_tokens", 64},
                                        {"messages", {{{"role", "user"}, {"content", {image, {{"type", "text"}, {"text", "What is it?"}}}}}}}}
                             .dump();
        const auto refused = httpPost(gateway.port(), "/v1/messages", big);
        CPPUNIT_ASSERT_EQUAL(413, refused.status);
        CPPUNIT_ASSERT_EQUAL(std::string("error"), refused.json()["type"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("request_too_large"), refused.json()["error"]["type"].get<std::string>());
        const auto tooBigResponses = nlohmann::json{{"model", "llama3.2"}, {"input", std::string(100000, 'x')}}.dump();
        const auto responses = httpPost(gateway.port(), "/v1/responses", tooBigResponses);
        CPPUNIT_ASSERT_EQUAL(413, responses.status);
        CPPUNIT_ASSERT_EQUAL(std::string("request_too_large"), responses.json()["error"]["code"].get<std::string>());
        // The gateway keeps serving.
        CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/v1/messages", messagesRequest("llama3.2", false)).status);
    }

private:
    nlohmann::json auditRecord(const std::string& id) {
        auto found = jsonLineWithId(_dir->path / "audit.jsonl", id);
        CPPUNIT_ASSERT_MESSAGE("no audit record for " + id, !found.is_null());
        return found;
    }

    std::unique_ptr<ScratchDir> _dir;
    std::unique_ptr<FakeBackend> _ollama;
    std::unique_ptr<FakeBackend> _openAi;
    std::string _config;
};

CPPUNIT_TEST_SUITE_REGISTRATION(AgentDoorsTest);

} // namespace sluice::test
