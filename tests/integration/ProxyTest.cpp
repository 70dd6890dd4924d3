// Pass-through behaviour with healthy backends: both protocols, whole and
// streamed answers, embeddings, model lists, request ids, connection reuse,
// and the backend's credential attached upstream but never shown.

#include <cppunit/extensions/HelperMacros.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

class ProxyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ProxyTest);
    CPPUNIT_TEST(ollamaChatWhole);
    CPPUNIT_TEST(ollamaChatStreamed);
    CPPUNIT_TEST(ollamaGenerateStreamed);
    CPPUNIT_TEST(openAiChatWhole);
    CPPUNIT_TEST(openAiChatStreamedToOpenAiBackend);
    CPPUNIT_TEST(embeddingsBothProtocols);
    CPPUNIT_TEST(modelListsAreTheUnion);
    CPPUNIT_TEST(showGoesToAHost);
    CPPUNIT_TEST(requestIdIsPropagatedWhenSane);
    CPPUNIT_TEST(keepAliveConnectionsAreReused);
    CPPUNIT_TEST(aPooledConnectionTheBackendClosedCostsNothing);
    CPPUNIT_TEST(backendTokenIsAttachedAndNeverShown);
    CPPUNIT_TEST(upstreamHeadersAreNeverCopiedBlindly);
    CPPUNIT_TEST_SUITE_END();

public:
    static constexpr const char* kToken = "sekret-token-7f3a";

    void setUp() override {
        _ollama = std::make_unique<FakeBackend>("ollama", "gpu-box");
        _openai = std::make_unique<FakeBackend>(
            "openai", "provider", std::vector<std::string>{"--models", "gpt-4o-mini,llama3.2:latest", "--token", kToken});
        _gateway = std::make_unique<TestGateway>(baseConfig() + "backends = gpu, cloud\n" +
                                                 backendConfig("gpu", _ollama->url()) +
                                                 backendConfig("cloud", _openai->url(), "openai") +
                                                 "backends.cloud.auth.token = " + kToken + "\n");
    }

    void tearDown() override {
        _gateway.reset();
        _ollama.reset();
        _openai.reset();
    }

    void ollamaChatWhole() {
        const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT(answer.header("content-type").find("application/json") == 0);
        const auto body = answer.json();
        CPPUNIT_ASSERT_EQUAL(std::string("Hello from gpu-box. This is a streamed answer."),
                             body["message"]["content"].get<std::string>());
        CPPUNIT_ASSERT(body["done"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(std::string("gpu"), answer.header("x-sluice-backend"));
        // The backend was sent, and served, the name it lists the model by.
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), answer.header("x-sluice-model"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(32), answer.header("x-request-id").size());
    }

    void ollamaChatStreamed() {
        const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("application/x-ndjson"), answer.header("content-type"));
        CPPUNIT_ASSERT_EQUAL(std::string("chunked"), answer.header("transfer-encoding"));
        const auto lines = ndjsonLines(answer.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), lines.size());
        std::string text;
        for (const auto& line : lines) {
            CPPUNIT_ASSERT(!line.is_discarded());
            text += line["message"]["content"].get<std::string>();
        }
        CPPUNIT_ASSERT_EQUAL(std::string("Hello from gpu-box. This is a streamed answer."), text);
        CPPUNIT_ASSERT(lines.back()["done"].get<bool>());
        CPPUNIT_ASSERT(lines.back()["eval_count"].get<int>() > 0);
    }

    void ollamaGenerateStreamed() {
        const auto answer =
            httpPost(_gateway->port(), "/api/generate", R"({"model":"qwen2.5:0.5b","prompt":"say hello"})");
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        const auto lines = ndjsonLines(answer.body);
        CPPUNIT_ASSERT(lines.size() >= 2);
        CPPUNIT_ASSERT(lines.front().contains("response"));
        CPPUNIT_ASSERT(lines.back()["done"].get<bool>());
        CPPUNIT_ASSERT(lines.back().contains("context"));
    }

    void openAiChatWhole() {
        const auto answer = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        const auto body = answer.json();
        CPPUNIT_ASSERT_EQUAL(std::string("chat.completion"), body["object"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("Hello from gpu-box. This is a streamed answer."),
                             body["choices"][0]["message"]["content"].get<std::string>());
        CPPUNIT_ASSERT(body["usage"]["total_tokens"].get<int>() > 0);
        CPPUNIT_ASSERT_EQUAL(std::string("gpu"), answer.header("x-sluice-backend"));
    }

    void openAiChatStreamedToOpenAiBackend() {
        // gpt-4o-mini lives only on the openai-kind backend, behind its token.
        const auto answer = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("gpt-4o-mini", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("text/event-stream"), answer.header("content-type"));
        CPPUNIT_ASSERT_EQUAL(std::string("cloud"), answer.header("x-sluice-backend"));
        const auto data = sseData(answer.body);
        CPPUNIT_ASSERT(data.size() >= 3);
        CPPUNIT_ASSERT_EQUAL(std::string("[DONE]"), data.back());
        std::string text;
        bool sawUsage = false;
        for (std::size_t i = 0; i + 1 < data.size(); ++i) {
            const auto chunk = nlohmann::json::parse(data[i]);
            CPPUNIT_ASSERT_EQUAL(std::string("chat.completion.chunk"), chunk["object"].get<std::string>());
            if (!chunk["choices"].empty() && chunk["choices"][0]["delta"].contains("content"))
                text += chunk["choices"][0]["delta"]["content"].get<std::string>();
            sawUsage = sawUsage || (chunk.contains("usage") && chunk["usage"].is_object());
        }
        CPPUNIT_ASSERT_EQUAL(std::string("Hello from provider. This is a streamed answer."), text);
        CPPUNIT_ASSERT(sawUsage);
    }

    void embeddingsBothProtocols() {
        const auto ollama = httpPost(_gateway->port(), "/api/embed", R"({"model":"nomic-embed-text","input":["a","b"]})");
        CPPUNIT_ASSERT_EQUAL(200, ollama.status);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), ollama.json()["embeddings"].size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), ollama.json()["embeddings"][0].size());

        const auto legacy = httpPost(_gateway->port(), "/api/embeddings", R"({"model":"nomic-embed-text","prompt":"a"})");
        CPPUNIT_ASSERT_EQUAL(200, legacy.status);
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), legacy.json()["embedding"].size());

        const auto openai = httpPost(_gateway->port(), "/v1/embeddings", R"({"model":"nomic-embed-text","input":"a"})");
        CPPUNIT_ASSERT_EQUAL(200, openai.status);
        CPPUNIT_ASSERT_EQUAL(std::string("list"), openai.json()["object"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), openai.json()["data"][0]["embedding"].size());
    }

    void modelListsAreTheUnion() {
        const auto tags = httpGet(_gateway->port(), "/api/tags").json();
        std::vector<std::string> names;
        for (const auto& model : tags["models"]) names.push_back(model["name"].get<std::string>());
        // gpu: llama3.2:latest, qwen2.5:0.5b, nomic-embed-text:latest; cloud: gpt-4o-mini, llama3.2:latest (a duplicate).
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), names.size());
        CPPUNIT_ASSERT(std::find(names.begin(), names.end(), "gpt-4o-mini") != names.end());
        CPPUNIT_ASSERT(tags["models"][0].contains("details"));

        const auto models = httpGet(_gateway->port(), "/v1/models").json();
        CPPUNIT_ASSERT_EQUAL(std::string("list"), models["object"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), models["data"].size());
        CPPUNIT_ASSERT_EQUAL(std::string("model"), models["data"][0]["object"].get<std::string>());

        const auto one = httpGet(_gateway->port(), "/v1/models/gpt-4o-mini");
        CPPUNIT_ASSERT_EQUAL(200, one.status);
        CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o-mini"), one.json()["id"].get<std::string>());
        const auto missing = httpGet(_gateway->port(), "/v1/models/no-such-model");
        CPPUNIT_ASSERT_EQUAL(404, missing.status);
        CPPUNIT_ASSERT_EQUAL(std::string("model_not_found"), missing.json()["error"]["code"].get<std::string>());

        const auto ps = httpGet(_gateway->port(), "/api/ps").json();
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), ps["models"].size());
        CPPUNIT_ASSERT_EQUAL(std::string("{\"version\":\"0.6.5\"}"), httpGet(_gateway->port(), "/api/version").body);
    }

    void showGoesToAHost() {
        const auto answer = httpPost(_gateway->port(), "/api/show", R"({"model":"qwen2.5:0.5b"})");
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT(answer.json().contains("details"));
        CPPUNIT_ASSERT_EQUAL(std::string("gpu"), answer.header("x-sluice-backend"));
    }

    void requestIdIsPropagatedWhenSane() {
        const auto sane = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false), {{"X-Request-ID", "trace-42.a:b"}});
        CPPUNIT_ASSERT_EQUAL(std::string("trace-42.a:b"), sane.header("x-request-id"));
        // The backend sees the same id, so one id follows the request end to end.
        CPPUNIT_ASSERT_EQUAL(std::string("trace-42.a:b"),
                             _ollama->stats()["last_request"]["headers"]["x-request-id"].get<std::string>());
        const auto insane = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false), {{"X-Request-ID", "bad id <script>"}});
        CPPUNIT_ASSERT_EQUAL(std::size_t(32), insane.header("x-request-id").size());
        const auto onError = httpGet(_gateway->port(), "/no/such/route");
        CPPUNIT_ASSERT_EQUAL(std::size_t(32), onError.header("x-request-id").size());
    }

    void keepAliveConnectionsAreReused() {
        httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false));
        const auto before = _ollama->stats()["connections"].get<int>();
        HttpClient client(_gateway->port());
        for (int i = 0; i < 40; ++i) {
            const auto answer = client.post("/api/chat", ollamaChat("llama3.2", i % 2 == 0));
            CPPUNIT_ASSERT_EQUAL(200, answer.status);
        }
        // Sequential requests ride the pooled connection: no new one per
        // request (40). Their client connection may be on another I/O thread
        // than the first request's, with a pool of its own (one more); the
        // look at the counters is one; a discovery poll, slow on a loaded
        // machine, may add its own two.
        CPPUNIT_ASSERT(_ollama->stats()["connections"].get<int>() - before <= 4);
    }

    void aPooledConnectionTheBackendClosedCostsNothing() {
        // The backend closes its connection right after a keep-alive answer.
        // The next request takes that connection from the pool (given back
        // a moment ago, it is not looked at), finds it closed before any
        // answer byte and goes again on a fresh one, to the same backend:
        // no failover to the model's other host, no error for the client.
        _ollama->setRules({{{"path", "/api/chat"}, {"close_when_idle", true}, {"times", 1}}});
        HttpClient client(_gateway->port());
        CPPUNIT_ASSERT_EQUAL(200, client.post("/api/chat", ollamaChat("llama3.2", false)).status);
        for (bool stream : {false, true}) {
            const auto answer = client.post("/api/chat", ollamaChat("llama3.2", stream));
            CPPUNIT_ASSERT_EQUAL(200, answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string("gpu"), answer.header("x-sluice-backend"));
            CPPUNIT_ASSERT_EQUAL(std::string("0"), answer.header("x-sluice-failovers"));
            CPPUNIT_ASSERT_EQUAL(std::string("0"), answer.header("x-sluice-retries"));  // nor a retry the backend is blamed for
        }
        CPPUNIT_ASSERT_EQUAL(3, _ollama->stats()["by_path"].value("/api/chat", 0));
        CPPUNIT_ASSERT_EQUAL(0, _openai->stats()["by_path"].value("/v1/chat/completions", 0));
    }

    void backendTokenIsAttachedAndNeverShown() {
        const auto answer = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("gpt-4o-mini", false));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        const auto seen = _openai->stats()["last_request"]["headers"]["authorization"].get<std::string>();
        CPPUNIT_ASSERT_EQUAL(std::string("Bearer ") + kToken, seen);
        // The client's own Authorization never reaches the backend.
        httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("gpt-4o-mini", false), {{"Authorization", "Bearer client-key"}});
        CPPUNIT_ASSERT_EQUAL(std::string("Bearer ") + kToken,
                             _openai->stats()["last_request"]["headers"]["authorization"].get<std::string>());

        _openai->setRules({{{"status", 500}}});
        const auto failed = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("gpt-4o-mini", false));
        CPPUNIT_ASSERT(failed.status >= 500);
        const auto health = httpGet(_gateway->port(), "/v1/health");
        CPPUNIT_ASSERT(health.body.find("attached") != std::string::npos);
        // Clients never see the backend's address; nobody, logs included, sees its token.
        for (const auto& text : {failed.body, health.body})
            CPPUNIT_ASSERT(text.find(std::to_string(_openai->port())) == std::string::npos);
        for (const auto& text : {failed.body, health.body, _gateway->output()})
            CPPUNIT_ASSERT(text.find(kToken) == std::string::npos);
    }

    void upstreamHeadersAreNeverCopiedBlindly() {
        _ollama->setRules({{{"headers",
                             {{"Connection", "close"}, {"Keep-Alive", "timeout=1"}, {"Proxy-Authenticate", "Basic"},
                              {"Set-Cookie", "backend=gpu7"}, {"X-Backend-Host", "gpu7.internal"}, {"Server", "ollama-internal"}}}}});
        HttpClient client(_gateway->port());
        for (bool stream : {false, true, false}) {
            const auto answer = client.post("/api/chat", ollamaChat("llama3.2", stream));
            CPPUNIT_ASSERT_EQUAL(200, answer.status);
            for (const auto* name : {"set-cookie", "x-backend-host", "proxy-authenticate", "keep-alive"})
                CPPUNIT_ASSERT_MESSAGE(name, answer.header(name).empty());
            CPPUNIT_ASSERT(answer.header("server") != "ollama-internal");
            // The backend closing its connection says nothing about the client's.
            CPPUNIT_ASSERT(answer.header("connection") != "close");
        }
    }

private:
    std::unique_ptr<FakeBackend> _ollama;
    std::unique_ptr<FakeBackend> _openai;
    std::unique_ptr<TestGateway> _gateway;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ProxyTest);

} // namespace sluice::test
