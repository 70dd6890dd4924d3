// The ratelimit stage end to end with the in-process store: answer headers
// and refusals in both protocols, tokens charged from what the backend
// reported, request shaping seen by the backend, store overrides, and a
// concurrency lease given back however an answer ends.

#include <algorithm>
#include <thread>

#include <Poco/Net/HTTPResponse.h>
#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include "AuthDeployment.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {
// The body the fake backend last received (it may report it parsed or as text).
nlohmann::json lastBody(const FakeBackend& backend) {
    const auto body = backend.stats()["last_request"]["body"];
    return body.is_string() ? nlohmann::json::parse(body.get<std::string>()) : body;
}

std::string limitsConfig(const std::string& extra) {
    return "pipeline.limits = ratelimit\n" + extra;
}
} // namespace

class RateLimitTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RateLimitTest);
    CPPUNIT_TEST(headersOnEveryAnswerAnd429InEachShape);
    CPPUNIT_TEST(tokensAreChargedFromTheBackendsCounts);
    CPPUNIT_TEST(streamsWithoutUsageAreCounted);
    CPPUNIT_TEST(concurrentRequestsReserveTheirTokens);
    CPPUNIT_TEST(aStreamCutBeforeItsUsageIsEstimated);
    CPPUNIT_TEST(theAnswerLengthIsShapedBeforeForwarding);
    CPPUNIT_TEST(storeOverridesAndTheStricterScope);
    CPPUNIT_TEST(theLeaseIsGivenBackHoweverTheAnswerEnds);
    CPPUNIT_TEST_SUITE_END();

public:
    void headersOnEveryAnswerAnd429InEachShape() {
        OneBackendGateway setup(limitsConfig("limits.default_rpm = 3\nlimits.default_tpm = 0\n"));
        const auto port = setup.gateway.port();
        const auto first = httpPost(port, "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(200, first.status);
        CPPUNIT_ASSERT_EQUAL(std::string("3"), first.header("x-ratelimit-limit-requests"));
        CPPUNIT_ASSERT_EQUAL(std::string("2"), first.header("x-ratelimit-remaining-requests"));
        CPPUNIT_ASSERT(!first.header("x-ratelimit-reset-requests").empty());
        CPPUNIT_ASSERT(first.header("x-ratelimit-limit-tokens").empty());  // unlimited: no token headers
        const auto streamed = httpPost(port, "/v1/chat/completions", openAiChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, streamed.status);
        CPPUNIT_ASSERT_EQUAL(std::string("1"), streamed.header("x-ratelimit-remaining-requests"));
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/generate", R"({"model":"llama3.2","prompt":"hi","stream":false})").status);

        const auto ollama = httpPost(port, "/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(429, ollama.status);
        CPPUNIT_ASSERT(ollama.json()["error"].is_string());
        const auto wait = std::stoi(ollama.header("retry-after"));
        CPPUNIT_ASSERT(wait >= 1 && wait <= 60);
        CPPUNIT_ASSERT_EQUAL(std::string("0"), ollama.header("x-ratelimit-remaining-requests"));
        const auto openAi = httpPost(port, "/v1/chat/completions", openAiChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(429, openAi.status);
        CPPUNIT_ASSERT_EQUAL(std::string("rate_limit_exceeded"), openAi.json()["error"]["code"].get<std::string>());
        CPPUNIT_ASSERT(!openAi.header("retry-after").empty());
        CPPUNIT_ASSERT_EQUAL(3, setup.backend.stats()["by_path"]["/api/chat"].get<int>() +
                                    setup.backend.stats()["by_path"]["/v1/chat/completions"].get<int>() +
                                    setup.backend.stats()["by_path"]["/api/generate"].get<int>());
    }

    // The fake reports 5 prompt + 5 completion tokens per chat.
    void tokensAreChargedFromTheBackendsCounts() {
        OneBackendGateway setup(limitsConfig("limits.default_rpm = 0\nlimits.default_tpm = 30\n"));
        const auto port = setup.gateway.port();
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", false)).status);
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", true)).status);  // from the final chunk
        const auto third = httpPost(port, "/v1/chat/completions", openAiChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, third.status);
        // 30 - 20 charged - 5 reserved by this request's own prompt (settled when it ends).
        CPPUNIT_ASSERT_EQUAL(std::string("5"), third.header("x-ratelimit-remaining-tokens"));
        const auto refused = httpPost(port, "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(429, refused.status);
        CPPUNIT_ASSERT(refused.json()["error"].get<std::string>().find("tokens per minute") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("0"), refused.header("x-ratelimit-remaining-tokens"));
    }

    // The openai SDK streams without stream_options.include_usage: such
    // streams were charged 0 tokens, so a token limit never stopped them.
    void streamsWithoutUsageAreCounted() {
        OneBackendGateway setup(limitsConfig("limits.default_rpm = 0\nlimits.default_tpm = 30\n"));
        const auto port = setup.gateway.port();
        const std::string plainStream = R"({"model":"llama3.2","stream":true,"messages":[{"role":"user","content":"why is the sky blue"}]})";
        for (int i = 0; i < 3; ++i) {
            const auto answer = httpPost(port, "/v1/chat/completions", plainStream);
            CPPUNIT_ASSERT_EQUAL(200, answer.status);
            // The gateway asked for the usage, and kept it from the client, which did not.
            CPPUNIT_ASSERT_EQUAL(true, lastBody(setup.backend)["stream_options"]["include_usage"].get<bool>());
            const auto events = sseData(answer.body);
            CPPUNIT_ASSERT(events.size() > 2);
            CPPUNIT_ASSERT_EQUAL(std::string("[DONE]"), events.back());
            for (const auto& event : events) {
                if (event == "[DONE]") continue;
                const auto chunk = nlohmann::json::parse(event);
                CPPUNIT_ASSERT_MESSAGE(event, !chunk["choices"].empty());
            }
        }
        const auto refused = httpPost(port, "/v1/chat/completions", plainStream);
        CPPUNIT_ASSERT_EQUAL(429, refused.status);
        // A client that asks for the usage still gets it.
        OneBackendGateway asking(limitsConfig("limits.default_rpm = 0\nlimits.default_tpm = 0\n"));
        const auto withUsage = sseData(httpPost(asking.gateway.port(), "/v1/chat/completions", openAiChat("llama3.2", true)).body);
        CPPUNIT_ASSERT(withUsage.size() > 2);
        CPPUNIT_ASSERT(nlohmann::json::parse(withUsage[withUsage.size() - 2])["usage"].is_object());
    }

    // Twenty requests at once against a budget of 50 that each reserve 25
    // (5 of prompt, max_tokens 20): before reservations all twenty passed,
    // since nothing was charged until an answer ended. Each answer then
    // settles to the 10 tokens the backend reported.
    void concurrentRequestsReserveTheirTokens() {
        OneBackendGateway setup(limitsConfig("limits.default_rpm = 0\nlimits.default_tpm = 50\n"));
        setup.backend.setRules(nlohmann::json::array({{{"delay_first_byte_ms", 300}}}));
        const auto port = setup.gateway.port();
        const std::string body = R"({"model":"llama3.2","max_tokens":20,"messages":[{"role":"user","content":"why is the sky blue"}]})";
        std::vector<int> statuses(20);
        std::vector<std::thread> clients;
        for (int i = 0; i < 20; ++i) clients.emplace_back([&, i] { statuses[i] = httpPost(port, "/v1/chat/completions", body).status; });
        for (auto& client : clients) client.join();
        const auto admitted = static_cast<int>(std::count(statuses.begin(), statuses.end(), 200));
        CPPUNIT_ASSERT_EQUAL(20 - admitted, static_cast<int>(std::count(statuses.begin(), statuses.end(), 429)));
        // At most two at once (25 + 25), at most five in all (10 each once settled).
        CPPUNIT_ASSERT_MESSAGE(std::to_string(admitted), admitted >= 2 && admitted <= 5);
        // Settled to the reported usage: 10 a request; this one reserves 5 + 1.
        const auto next = httpPost(port, "/v1/chat/completions",
                                   R"({"model":"llama3.2","max_tokens":1,"messages":[{"role":"user","content":"why is the sky blue"}]})");
        if (admitted < 5) {
            CPPUNIT_ASSERT_EQUAL(200, next.status);
            CPPUNIT_ASSERT_EQUAL(std::to_string(50 - 10 * admitted - 6), next.header("x-ratelimit-remaining-tokens"));
        } else {
            CPPUNIT_ASSERT_EQUAL(429, next.status);
        }
    }

    // A stream cut before its final chunk carries no usage: its tokens are
    // estimated from the prompt and the text delivered (4 characters a token).
    void aStreamCutBeforeItsUsageIsEstimated() {
        OneBackendGateway setup(limitsConfig("limits.default_rpm = 0\nlimits.default_tpm = 8\n"));
        setup.backend.setRules(nlohmann::json::array({{{"cut_after_chunks", 2}, {"times", 1}}}));
        const auto port = setup.gateway.port();
        const auto cut = httpPost(port, "/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, cut.status);
        CPPUNIT_ASSERT(cut.body.find("\"error\"") != std::string::npos);
        // "why is the sky blue" is 5 tokens, two chunks of the answer at least 3.
        const auto next = httpPost(port, "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(next.body, 429, next.status);
    }

    void theAnswerLengthIsShapedBeforeForwarding() {
        OneBackendGateway setup(limitsConfig("limits.max_num_predict = 64\n"));
        const auto port = setup.gateway.port();
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", false)).status);
        auto sent = lastBody(setup.backend);
        CPPUNIT_ASSERT_EQUAL(64, sent["options"]["num_predict"].get<int>());
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/v1/chat/completions",
                                           R"({"model":"llama3.2","max_tokens":100000,"messages":[{"role":"user","content":"hi"}]})")
                                      .status);
        sent = lastBody(setup.backend);
        CPPUNIT_ASSERT_EQUAL(64, sent["max_tokens"].get<int>());
    }

    void storeOverridesAndTheStricterScope() {
        AuthDeployment deployment(StoreKind::SQLite, nullptr, limitsConfig("limits.default_rpm = 100\n"));
        FakeBackend backend("ollama", "box");
        TestGateway gateway(deployment.configWith(backend));
        const auto tenant = deployment.createTenant("team", {"--all-models", "--rpm", "3"});
        const auto strict = deployment.createKey(tenant, {"--rpm", "1"});
        const auto loose = deployment.createKey(tenant);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(gateway.port(), "/api/tags", bearer(strict)).status);  // not a proxied call: not counted
        CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false), bearer(strict)).status);
        const auto keyRefused = httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false), bearer(strict));
        CPPUNIT_ASSERT_EQUAL(429, keyRefused.status);
        CPPUNIT_ASSERT(keyRefused.json()["error"].get<std::string>().find("(key)") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false), bearer(loose)).status);
        CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false), bearer(loose)).status);
        const auto tenantRefused = httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false), bearer(loose));
        CPPUNIT_ASSERT_EQUAL(429, tenantRefused.status);
        CPPUNIT_ASSERT(tenantRefused.json()["error"].get<std::string>().find("(tenant)") != std::string::npos);
    }

    // One concurrent request allowed: if any ending kept its lease, the next
    // request would be refused.
    void theLeaseIsGivenBackHoweverTheAnswerEnds() {
        FakeBackend backend("ollama", "box");
        FakeBackend spare("ollama", "spare");
        TestGateway gateway(baseConfig() + limitsConfig("limits.default_rpm = 0\nlimits.default_tpm = 0\nlimits.default_concurrent = 1\n") +
                            "plugins.load = allow-all, ratelimit, discovery, " SLUICE_TEST_PLUGIN_DIR "/throwing.so\n"
                            "pipeline.router = throwing-router\n"
                            "backends = box, spare\n" + backendConfig("box", backend.url()) + backendConfig("spare", spare.url()) +
                            "health.failure_threshold = 1000\n");
        const auto port = gateway.port();
        auto nextIsAdmitted = [&](const std::string& after) {
            CPPUNIT_ASSERT_MESSAGE(after, eventually([&] {
                return httpPost(port, "/api/chat", ollamaChat("llama3.2", false)).status == 200;
            }, std::chrono::seconds(5)));
        };
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", false)).status);
        nextIsAdmitted("a plain answer");
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", true)).status);
        nextIsAdmitted("a stream");

        // Upstream error on both backends, retries included: failover exhausted.
        backend.setRules(nlohmann::json::array({{{"status", 500}}}));
        spare.setRules(nlohmann::json::array({{{"status", 500}}}));
        CPPUNIT_ASSERT(httpPost(port, "/api/chat", ollamaChat("llama3.2", false)).status >= 500);
        backend.setRules(nlohmann::json::array());
        spare.setRules(nlohmann::json::array());
        nextIsAdmitted("failover exhaustion");

        // A stream that dies half-way.
        backend.setRules(nlohmann::json::array({{{"die_after_chunks", 2}, {"times", 1}}}));
        httpPost(port, "/api/chat", ollamaChat("llama3.2", true));
        nextIsAdmitted("a stream cut by the backend");

        // The client hangs up mid-stream.
        backend.setRules(nlohmann::json::array({{{"chunks", 50}, {"chunk_interval_ms", 100}, {"times", 1}}}));
        {
            HttpClient client(port);
            Poco::Net::HTTPResponse response;
            auto& body = client.open("POST", "/api/chat", ollamaChat("llama3.2", true), response);
            std::string line;
            std::getline(body, line);
            CPPUNIT_ASSERT(!line.empty());
        }  // the connection closes here
        nextIsAdmitted("a client that went away");

        // Refused after admission (a model nobody hosts; this router tries every
        // backend, so the backends' 404 ends it): complete() still runs.
        CPPUNIT_ASSERT_EQUAL(404, httpPost(port, "/api/chat", ollamaChat("no-such-model", false)).status);
        nextIsAdmitted("a refusal after admission");

        // A stage that throws after admission.
        CPPUNIT_ASSERT_EQUAL(500, httpPost(port, "/api/chat", ollamaChat("llama3.2", false), {{"x-test-throw-router", "1"}}).status);
        nextIsAdmitted("an exception after admission");

        // No backend reachable at all.
        backend.kill();
        spare.kill();
        CPPUNIT_ASSERT(httpPost(port, "/api/chat", ollamaChat("llama3.2", false)).status >= 500);
        const auto again = httpPost(port, "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_MESSAGE("refused by the limiter: a lease leaked", again.status != 429);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RateLimitTest);

} // namespace sluice::test
