// Failover: a candidate that cannot serve (dead, 5xx, 429, 404, reset, too
// slow to its first byte, a stream dying before its first chunk) hands the
// request to the next one, and the client sees a clean answer. When none can
// serve, one protocol-shaped error that names no backend.

#include <cppunit/extensions/HelperMacros.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

class FailoverTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FailoverTest);
    CPPUNIT_TEST(deadBackendFailsOverWithoutAnError);
    CPPUNIT_TEST(failingAnswersFailOver);
    CPPUNIT_TEST(streamDyingBeforeItsFirstChunkFailsOver);
    CPPUNIT_TEST(streamDyingAfterItsFirstChunkEndsWithAnErrorAndNoFailover);
    CPPUNIT_TEST(sseCommentsDoNotEndTheFailoverWindow);
    CPPUNIT_TEST(slowFirstByteFailsOver);
    CPPUNIT_TEST(openCircuitIsTriedLast);
    CPPUNIT_TEST(nothingServesGivesOneCleanError);
    CPPUNIT_TEST(everyBackendBusyGives429WithRetryAfter);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _first = std::make_unique<FakeBackend>("ollama", "first");
        _second = std::make_unique<FakeBackend>("ollama", "second");
        _gateway = std::make_unique<TestGateway>(baseConfig() + "backends = a, b\n" + backendConfig("a", _first->url()) +
                                                 backendConfig("b", _second->url()) +
                                                 "backends.a.timeout.first_byte_ms = 1500\n"
                                                 "backends.a.timeout.cold_load_ms = 1500\n"
                                                 // Keep a's circuit closed so every case really reaches a.
                                                 "health.failure_threshold = 1000\n");
    }

    void tearDown() override {
        _gateway.reset();
        _first.reset();
        _second.reset();
    }

    void deadBackendFailsOverWithoutAnError() {
        _first->kill();
        for (bool stream : {false, true}) {
            const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", stream));
            CPPUNIT_ASSERT_EQUAL(200, answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string("b"), answer.header("x-sluice-backend"));
            CPPUNIT_ASSERT(answer.body.find("Hello") != std::string::npos);
            CPPUNIT_ASSERT(answer.body.find("error") == std::string::npos);
        }
        const auto metrics = httpGet(_gateway->port(), "/metrics").body;
        CPPUNIT_ASSERT(metrics.find("sluice_failover_total{from=\"a\",to=\"b\",reason=\"connect_error\"}") != std::string::npos);
        CPPUNIT_ASSERT(metrics.find("outcome=\"connect_error\"") != std::string::npos);
    }

    void failingAnswersFailOver() {
        for (const auto& rule : {nlohmann::json{{"status", 503}}, nlohmann::json{{"status", 500}}, nlohmann::json{{"status", 302}},
                                 nlohmann::json{{"close_delimited", true}, {"cut_after_chunks", 0}},
                                 nlohmann::json{{"status", 429}}, nlohmann::json{{"status", 404}},
                                 nlohmann::json{{"status", 401}}, nlohmann::json{{"status", 403}},
                                 nlohmann::json{{"reset_before_first_byte", true}}}) {
            _first->setRules({rule});
            for (const auto& [path, body] : {std::pair{"/api/chat", ollamaChat("llama3.2", true)},
                                             std::pair{"/v1/chat/completions", openAiChat("llama3.2", false)}}) {
                const auto answer = httpPost(_gateway->port(), path, body);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(rule.dump() + " " + path, 200, answer.status);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(rule.dump(), std::string("b"), answer.header("x-sluice-backend"));
            }
        }
    }

    void streamDyingBeforeItsFirstChunkFailsOver() {
        _first->setRules({{{"die_after_chunks", 0}}});
        const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("b"), answer.header("x-sluice-backend"));
        const auto lines = ndjsonLines(answer.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), lines.size());
        CPPUNIT_ASSERT(lines.back()["done"].get<bool>());
    }

    void streamDyingAfterItsFirstChunkEndsWithAnErrorAndNoFailover() {
        // Once a byte reached the client, another backend's answer cannot be
        // spliced in: the stream ends with an error line, and b is never asked.
        _first->setRules({{{"die_after_chunks", 2}}});
        const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("a"), answer.header("x-sluice-backend"));
        const auto lines = ndjsonLines(answer.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), lines.size());
        CPPUNIT_ASSERT(lines[0].contains("message"));
        CPPUNIT_ASSERT(lines[2].contains("error"));
        CPPUNIT_ASSERT_EQUAL(0, chatsAt(*_second));
    }

    void sseCommentsDoNotEndTheFailoverWindow() {
        // Keep-alive comments, then death before any data: still a's failure, not the client's.
        _first->setRules({{{"sse_comments", 2}, {"die_after_chunks", 0}}});
        const auto answer = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("b"), answer.header("x-sluice-backend"));
        CPPUNIT_ASSERT_EQUAL(std::string("[DONE]"), sseData(answer.body).back());
        CPPUNIT_ASSERT(answer.body.find("error") == std::string::npos);
        // Comments before good data are passed on with it.
        _first->setRules({{{"sse_comments", 1}}});
        const auto served = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(std::string("a"), served.header("x-sluice-backend"));
        CPPUNIT_ASSERT(served.body.starts_with(": keep-alive\n\n"));
    }

    void slowFirstByteFailsOver() {
        _first->setRules({{{"delay_first_byte_ms", 6000}}});
        const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("b"), answer.header("x-sluice-backend"));
    }

    void openCircuitIsTriedLast() {
        TestGateway gateway(baseConfig() + "backends = a, b\n" + backendConfig("a", _first->url()) +
                            backendConfig("b", _second->url()) + "health.failure_threshold = 3\n");
        _first->setRules({{{"status", 503}}});
        for (int i = 0; i < 3; ++i) httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false));
        const auto seenBefore = chatsAt(*_first);
        for (int i = 0; i < 5; ++i) {
            const auto answer = httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false));
            CPPUNIT_ASSERT_EQUAL(std::string("b"), answer.header("x-sluice-backend"));
        }
        // After three failures in a row the model's circuit on a is open: a is not even asked.
        CPPUNIT_ASSERT_EQUAL(seenBefore, chatsAt(*_first));
        const auto health = nlohmann::json::parse(httpGet(gateway.port(), "/v1/health").body);
        CPPUNIT_ASSERT_EQUAL(std::string("open"), health.at("backends").at(0).at("model_circuits").at(0).at("state").get<std::string>());
    }

    void nothingServesGivesOneCleanError() {
        _first->setRules({{{"status", 503}}});
        _second->kill();
        const auto ollama = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT(ollama.status == 502 || ollama.status == 503);
        CPPUNIT_ASSERT(ollama.json()["error"].is_string());
        const auto openai = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("llama3.2", false));
        CPPUNIT_ASSERT(openai.status == 502 || openai.status == 503);
        CPPUNIT_ASSERT(openai.json()["error"]["message"].is_string());
        for (const auto& body : {ollama.body, openai.body}) {
            CPPUNIT_ASSERT(body.find("127.0.0.1") == std::string::npos);
            CPPUNIT_ASSERT(body.find(std::to_string(_first->port())) == std::string::npos);
            CPPUNIT_ASSERT(body.find("http") == std::string::npos);
        }
        // The gateway itself is fine.
        CPPUNIT_ASSERT_EQUAL(200, httpGet(_gateway->port(), "/healthz").status);
    }

    void everyBackendBusyGives429WithRetryAfter() {
        _first->setRules({{{"status", 429}, {"retry_after", 7}}});
        _second->setRules({{{"status", 429}, {"retry_after", 7}}});
        const auto answer = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(429, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("7"), answer.header("retry-after"));
        CPPUNIT_ASSERT_EQUAL(std::string("rate_limit_exceeded"), answer.json()["error"]["code"].get<std::string>());
    }

private:
    std::unique_ptr<FakeBackend> _first;
    std::unique_ptr<FakeBackend> _second;
    std::unique_ptr<TestGateway> _gateway;
};

CPPUNIT_TEST_SUITE_REGISTRATION(FailoverTest);

} // namespace sluice::test
