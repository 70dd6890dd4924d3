// Ollama clients in front of OpenAI-compatible providers: /api/chat,
// /api/generate and the embeddings calls are translated to /v1 requests and
// the answers back to Ollama's shapes, streams included, with the forwarder's
// rules intact (first-chunk failover, an error line after the first byte,
// 4xx passed back in Ollama's shape, token counts charged).

#include <cppunit/extensions/HelperMacros.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {
const std::string kSentence = "Hello from first. This is a streamed answer.";

std::string ollamaGenerate(bool stream) {
    return nlohmann::json{{"model", "gpt-4o-mini"},
                          {"system", "Answer briefly."},
                          {"prompt", "Why is the sky blue?"},
                          {"stream", stream},
                          {"keep_alive", "5m"},
                          {"options", {{"num_predict", 64}, {"top_k", 40}}}}
        .dump();
}

std::string openAiKind(const std::string& name, const FakeBackend& backend) {
    return backendConfig(name, backend.url(), "openai");
}

// The concatenated content of an Ollama stream's lines (chat or generate).
std::string contentOf(const std::vector<nlohmann::json>& lines) {
    std::string text;
    for (const auto& line : lines) {
        if (line.contains("message")) text += line["message"]["content"].get<std::string>();
        if (line.contains("response")) text += line["response"].get<std::string>();
    }
    return text;
}
} // namespace

class TranslationTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TranslationTest);
    CPPUNIT_TEST(chatWholeIsTranslated);
    CPPUNIT_TEST(chatStreamIsTranslated);
    CPPUNIT_TEST(generateWholeAndStreamed);
    CPPUNIT_TEST(embeddingsAreTranslated);
    CPPUNIT_TEST(showIsAnsweredByTheGateway);
    CPPUNIT_TEST(tokenCountsAreCharged);
    CPPUNIT_TEST(streamDyingAfterItsFirstChunkEndsWithAnErrorLine);
    CPPUNIT_TEST(streamDyingBeforeItsFirstChunkFailsOver);
    CPPUNIT_TEST(failingAnswersFailOver);
    CPPUNIT_TEST(clientErrorsComeBackInOllamaShape);
    CPPUNIT_TEST(stallMidStreamEndsWithAnErrorLine);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _first = std::make_unique<FakeBackend>("openai", "first", std::vector<std::string>{"--models", "gpt-4o-mini"});
        _second = std::make_unique<FakeBackend>("openai", "second", std::vector<std::string>{"--models", "gpt-4o-mini"});
        _gateway = std::make_unique<TestGateway>(baseConfig() + "backends = a, b\n" + openAiKind("a", *_first) +
                                                 openAiKind("b", *_second) +
                                                 // Keep a's circuit closed so every case really reaches a.
                                                 "health.failure_threshold = 1000\n");
    }

    void tearDown() override {
        _gateway.reset();
        _first.reset();
        _second.reset();
    }

    void chatWholeIsTranslated() {
        const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("gpt-4o-mini", false));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, 200, answer.status);
        CPPUNIT_ASSERT(answer.header("content-type").starts_with("application/json"));
        CPPUNIT_ASSERT_EQUAL(std::string("a"), answer.header("x-sluice-backend"));
        const auto body = answer.json();
        CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o-mini"), body["model"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("assistant"), body["message"]["role"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(kSentence, body["message"]["content"].get<std::string>());
        CPPUNIT_ASSERT(body["done"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(std::string("stop"), body["done_reason"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(5, body["prompt_eval_count"].get<int>());  // "why is the sky blue"
        CPPUNIT_ASSERT_EQUAL(5, body["eval_count"].get<int>());         // five chunks
        CPPUNIT_ASSERT(body["created_at"].is_string());
        CPPUNIT_ASSERT(!body.contains("choices"));

        // What the provider received: its own path and request shape.
        const auto seen = _first->stats()["last_request"];
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/chat/completions"), seen["path"].get<std::string>());
        const auto expected = nlohmann::json::parse(R"({"model":"gpt-4o-mini","stream":false,
            "messages":[{"role":"user","content":"why is the sky blue"}]})");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), seen["body"].dump());
    }

    void chatStreamIsTranslated() {
        const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("gpt-4o-mini", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("application/x-ndjson"), answer.header("content-type"));
        CPPUNIT_ASSERT_EQUAL(std::string("chunked"), answer.header("transfer-encoding"));
        const auto lines = ndjsonLines(answer.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), lines.size());  // five pieces, then the final line
        for (const auto& line : lines) {
            CPPUNIT_ASSERT(!line.is_discarded());
            CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o-mini"), line["model"].get<std::string>());
            CPPUNIT_ASSERT_EQUAL(std::string("assistant"), line["message"]["role"].get<std::string>());
        }
        CPPUNIT_ASSERT_EQUAL(kSentence, contentOf(lines));
        for (std::size_t i = 0; i + 1 < lines.size(); ++i) CPPUNIT_ASSERT(!lines[i]["done"].get<bool>());
        const auto& last = lines.back();
        CPPUNIT_ASSERT(last["done"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(std::string("stop"), last["done_reason"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(5, last["prompt_eval_count"].get<int>());
        CPPUNIT_ASSERT_EQUAL(5, last["eval_count"].get<int>());
        CPPUNIT_ASSERT(answer.body.find("data:") == std::string::npos);
        CPPUNIT_ASSERT(answer.body.find("[DONE]") == std::string::npos);

        const auto seen = _first->stats()["last_request"]["body"];
        CPPUNIT_ASSERT(seen["stream"].get<bool>());
        CPPUNIT_ASSERT(seen["stream_options"]["include_usage"].get<bool>());
    }

    void generateWholeAndStreamed() {
        const auto whole = httpPost(_gateway->port(), "/api/generate", ollamaGenerate(false));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(whole.body, 200, whole.status);
        const auto body = whole.json();
        CPPUNIT_ASSERT_EQUAL(kSentence, body["response"].get<std::string>());
        CPPUNIT_ASSERT(!body.contains("message"));
        CPPUNIT_ASSERT(body["done"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(7, body["prompt_eval_count"].get<int>());  // system and prompt words
        CPPUNIT_ASSERT_EQUAL(5, body["eval_count"].get<int>());
        const auto seen = _first->stats()["last_request"]["body"];
        const auto expected = nlohmann::json::parse(R"({"model":"gpt-4o-mini","stream":false,"max_tokens":64,
            "messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":"Why is the sky blue?"}]})");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), seen.dump());

        // Generate streams unless told not to, as Ollama does.
        auto streamedRequest = nlohmann::json::parse(ollamaGenerate(true));
        streamedRequest.erase("stream");
        const auto streamed = httpPost(_gateway->port(), "/api/generate", streamedRequest.dump());
        CPPUNIT_ASSERT_EQUAL(200, streamed.status);
        CPPUNIT_ASSERT_EQUAL(std::string("application/x-ndjson"), streamed.header("content-type"));
        const auto lines = ndjsonLines(streamed.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), lines.size());
        CPPUNIT_ASSERT_EQUAL(kSentence, contentOf(lines));
        CPPUNIT_ASSERT(lines.back()["done"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(7, lines.back()["prompt_eval_count"].get<int>());
        CPPUNIT_ASSERT_EQUAL(5, lines.back()["eval_count"].get<int>());
    }

    void embeddingsAreTranslated() {
        const auto embed = httpPost(_gateway->port(), "/api/embed",
                                    R"({"model":"nomic-embed-text","input":["the quick brown fox","jumps over"],"truncate":true})");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(embed.body, 200, embed.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/embeddings"), _first->stats()["last_request"]["path"].get<std::string>());
        const auto body = embed.json();
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), body["embeddings"].size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), body["embeddings"][0].size());
        CPPUNIT_ASSERT(body["embeddings"][0] != body["embeddings"][1]);
        CPPUNIT_ASSERT_EQUAL(6, body["prompt_eval_count"].get<int>());

        const auto legacy = httpPost(_gateway->port(), "/api/embeddings", R"({"model":"nomic-embed-text","prompt":"the quick brown fox"})");
        CPPUNIT_ASSERT_EQUAL(200, legacy.status);
        // The same text gives the same vector either way.
        CPPUNIT_ASSERT_EQUAL(body["embeddings"][0].dump(), legacy.json()["embedding"].dump());
    }

    void showIsAnsweredByTheGateway() {
        // Ollama clients (ollama run, Open WebUI) ask /api/show before they chat;
        // a provider has no modelfile, so the gateway answers the shape itself.
        const auto answer = httpPost(_gateway->port(), "/api/show", R"({"model":"gpt-4o-mini"})");
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        const auto show = answer.json();
        CPPUNIT_ASSERT(show.at("details").is_object());
        CPPUNIT_ASSERT(show.at("capabilities") == nlohmann::json({"completion"}));
        CPPUNIT_ASSERT(show.at("modelfile").get<std::string>().find("gpt-4o-mini") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o-mini"), answer.header("x-sluice-model"));
        CPPUNIT_ASSERT_EQUAL(0, requestsAt(*_first, "/api/show") + requestsAt(*_first, "/v1/chat/completions"));
    }

    // Each chat costs 5 prompt + 5 completion tokens; the limiter charges what the translation reported.
    void tokenCountsAreCharged() {
        TestGateway limited(baseConfig() + "backends = a\n" + openAiKind("a", *_first) +
                            "pipeline.limits = ratelimit\nlimits.default_rpm = 0\nlimits.default_tpm = 30\n");
        CPPUNIT_ASSERT_EQUAL(200, httpPost(limited.port(), "/api/chat", ollamaChat("gpt-4o-mini", false)).status);
        // The limiter's length shaping (options.num_predict) reaches the provider as max_tokens.
        CPPUNIT_ASSERT_EQUAL(4096, _first->stats()["last_request"]["body"]["max_tokens"].get<int>());
        CPPUNIT_ASSERT_EQUAL(200, httpPost(limited.port(), "/api/chat", ollamaChat("gpt-4o-mini", true)).status);  // from the usage chunk
        const auto third = httpPost(limited.port(), "/api/chat", ollamaChat("gpt-4o-mini", true));
        CPPUNIT_ASSERT_EQUAL(200, third.status);
        // 30 - 20 charged - 5 reserved for this request's own prompt.
        CPPUNIT_ASSERT_EQUAL(std::string("5"), third.header("x-ratelimit-remaining-tokens"));
        const auto refused = httpPost(limited.port(), "/api/chat", ollamaChat("gpt-4o-mini", false));
        CPPUNIT_ASSERT_EQUAL(429, refused.status);
        CPPUNIT_ASSERT(refused.json()["error"].get<std::string>().find("tokens per minute") != std::string::npos);
    }

    void streamDyingAfterItsFirstChunkEndsWithAnErrorLine() {
        _first->setRules({{{"die_after_chunks", 1}}});
        const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("gpt-4o-mini", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("a"), answer.header("x-sluice-backend"));
        const auto lines = ndjsonLines(answer.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), lines.size());  // the first piece, then the error, both whole JSON
        CPPUNIT_ASSERT_EQUAL(std::string("Hello"), lines[0]["message"]["content"].get<std::string>());
        CPPUNIT_ASSERT(lines[1]["error"].is_string());
        CPPUNIT_ASSERT(!lines[1]["error"].get<std::string>().empty());
        CPPUNIT_ASSERT(!lines[1].contains("done"));
        CPPUNIT_ASSERT_EQUAL(0, requestsAt(*_second, "/v1/chat/completions"));
        // The gateway serves the next request normally.
        _first->setRules(nlohmann::json::array());
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), ndjsonLines(httpPost(_gateway->port(), "/api/chat", ollamaChat("gpt-4o-mini", true)).body).size());
    }

    void streamDyingBeforeItsFirstChunkFailsOver() {
        // Dead before any event, and dead after keep-alive comments only: both still a's failure.
        for (const auto& rule : {nlohmann::json{{"die_after_chunks", 0}}, nlohmann::json{{"sse_comments", 2}, {"die_after_chunks", 0}}}) {
            _first->setRules({rule});
            const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("gpt-4o-mini", true));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(rule.dump(), 200, answer.status);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(rule.dump(), std::string("b"), answer.header("x-sluice-backend"));
            const auto lines = ndjsonLines(answer.body);
            CPPUNIT_ASSERT_EQUAL(std::size_t(6), lines.size());
            CPPUNIT_ASSERT_EQUAL(std::string("Hello from second. This is a streamed answer."), contentOf(lines));
            CPPUNIT_ASSERT(lines.back()["done"].get<bool>());
            CPPUNIT_ASSERT(answer.body.find("error") == std::string::npos);
        }
        CPPUNIT_ASSERT_EQUAL(2, requestsAt(*_first, "/v1/chat/completions"));
    }

    void failingAnswersFailOver() {
        for (const auto& rule : {nlohmann::json{{"status", 503}}, nlohmann::json{{"status", 429}}, nlohmann::json{{"status", 404}},
                                 nlohmann::json{{"reset_before_first_byte", true}}, nlohmann::json{{"die_after_chunks", 0}}}) {
            _first->setRules({rule});
            for (bool stream : {false, true}) {
                const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("gpt-4o-mini", stream));
                CPPUNIT_ASSERT_EQUAL_MESSAGE(rule.dump(), 200, answer.status);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(rule.dump(), std::string("b"), answer.header("x-sluice-backend"));
            }
        }
    }

    void clientErrorsComeBackInOllamaShape() {
        _first->setRules({{{"status", 400}, {"message", "max_tokens is too large"}}});
        for (bool stream : {false, true}) {
            const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("gpt-4o-mini", stream));
            CPPUNIT_ASSERT_EQUAL(400, answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string(R"({"error":"max_tokens is too large"})"), answer.body);
        }
        CPPUNIT_ASSERT_EQUAL(0, requestsAt(*_second, "/v1/chat/completions"));
    }

    void stallMidStreamEndsWithAnErrorLine() {
        TestGateway strict(baseConfig() + "backends = a\n" + openAiKind("a", *_first) + "backends.a.timeout.idle_ms = 700\n");
        _first->setRules({{{"hang_after_chunks", 1}}});
        const auto lines = ndjsonLines(httpPost(strict.port(), "/api/chat", ollamaChat("gpt-4o-mini", true)).body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), lines.size());
        CPPUNIT_ASSERT_EQUAL(std::string("Hello"), lines[0]["message"]["content"].get<std::string>());
        CPPUNIT_ASSERT(lines[1]["error"].get<std::string>().find("stalled") != std::string::npos);
    }

private:
    std::unique_ptr<FakeBackend> _first;
    std::unique_ptr<FakeBackend> _second;
    std::unique_ptr<TestGateway> _gateway;
};

CPPUNIT_TEST_SUITE_REGISTRATION(TranslationTest);

} // namespace sluice::test
