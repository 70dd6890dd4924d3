// What an attacker can try against the apikey stage: guessing from one
// address, spoofing X-Forwarded-For to dodge the limit, malformed and
// oversized headers, and reading secrets out of the gateway's output.

#include <thread>
#include <vector>

#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include "AuthDeployment.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string chatRequest(const std::string& headerLines) {
    const auto body = ollamaChat("llama3.2", false);
    return "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + headerLines +
           "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}
} // namespace

class AuthAbuseTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuthAbuseTest);
    CPPUNIT_TEST(guessingFromOneAddressIsThrottled);
    CPPUNIT_TEST(aBurstWithOneColdKeyVerifiesItOnce);
    CPPUNIT_TEST(aBurstWithOneBadKeyVerifiesItOnce);
    CPPUNIT_TEST(aTrustedProxyNamesTheClient);
    CPPUNIT_TEST(malformedHeadersGet401AndServingGoesOn);
    CPPUNIT_TEST(secretsNeverAppearInAnyOutput);
    CPPUNIT_TEST_SUITE_END();

public:
    void guessingFromOneAddressIsThrottled() {
        AuthDeployment deployment(StoreKind::SQLite, nullptr, "auth.failures_per_ip_per_min = 5\n");
        FakeBackend backend("ollama", "box");
        TestGateway gateway(deployment.configWith(backend));
        const auto key = deployment.createKey(deployment.createTenant("team", {"--all-models"}));
        CPPUNIT_ASSERT_EQUAL(200, httpGet(gateway.port(), "/api/tags", bearer(key)).status);

        // A spoofed X-Forwarded-For from an untrusted peer changes nothing.
        for (int i = 0; i < 5; ++i) {
            const auto guess = "slk_AAAAAAAAAAA" + std::to_string(i) + "_" + std::string(43, 'q');
            const auto answer = httpGet(gateway.port(), "/api/tags",
                                        {{"Authorization", "Bearer " + guess}, {"X-Forwarded-For", "10.9.9." + std::to_string(i)}});
            CPPUNIT_ASSERT_EQUAL(401, answer.status);
        }
        const auto refused = httpPost(gateway.port(), "/v1/chat/completions", openAiChat("llama3.2", false),
                                      {{"Authorization", "Bearer slk_BBBBBBBBBBBB_" + std::string(43, 'q')},
                                       {"X-Forwarded-For", "10.9.9.200"}});
        CPPUNIT_ASSERT_EQUAL(429, refused.status);
        const auto wait = std::stoi(refused.header("retry-after"));
        CPPUNIT_ASSERT(wait >= 1 && wait <= 60);
        CPPUNIT_ASSERT_EQUAL(std::string("rate_limit_exceeded"), refused.json()["error"]["code"].get<std::string>());
        // The key that was already verified keeps working from the same address.
        CPPUNIT_ASSERT_EQUAL(200, httpGet(gateway.port(), "/api/tags", bearer(key)).status);
    }

    // After a start or reload the key cache is empty. 24 connections of one
    // client arriving at once with the same valid key must all be served, on
    // one argon2 verify, and must not count against the address's failure
    // limit (5 here) while that verify runs.
    void aBurstWithOneColdKeyVerifiesItOnce() {
        AuthDeployment deployment(StoreKind::SQLite, nullptr, "auth.failures_per_ip_per_min = 5\n");
        FakeBackend backend("ollama", "box");
        TestGateway gateway(deployment.configWith(backend));
        const auto key = deployment.createKey(deployment.createTenant("team", {"--all-models"}));
        std::vector<std::thread> clients;
        std::vector<int> statuses(24, 0);
        for (std::size_t i = 0; i < statuses.size(); ++i)
            clients.emplace_back([&, i] {
                statuses[i] = httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false), bearer(key)).status;
            });
        for (auto& client : clients) client.join();
        for (const auto status : statuses) CPPUNIT_ASSERT_EQUAL(200, status);
        const auto page = httpGet(gateway.port(), "/metrics", bearer(key)).body;
        CPPUNIT_ASSERT_EQUAL(1.0, metricValue(page, "sluice_auth_verify_seconds_count"));
        CPPUNIT_ASSERT_EQUAL(0.0, metricValue(page, "sluice_auth_requests_total{result=\"throttled\"}"));
    }

    // The same burst with a bad key: every request gets the 401, and the
    // refusal the first verify cached answers the ones that waited for it.
    void aBurstWithOneBadKeyVerifiesItOnce() {
        AuthDeployment deployment(StoreKind::SQLite, nullptr, "auth.failures_per_ip_per_min = 1000\n");
        FakeBackend backend("ollama", "box");
        TestGateway gateway(deployment.configWith(backend));
        const auto key = deployment.createKey(deployment.createTenant("team", {"--all-models"}));
        auto wrong = key;
        wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
        std::vector<std::thread> clients;
        std::vector<int> statuses(16, 0);
        for (std::size_t i = 0; i < statuses.size(); ++i)
            clients.emplace_back([&, i] {
                statuses[i] = httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false), bearer(wrong)).status;
            });
        for (auto& client : clients) client.join();
        for (const auto status : statuses) CPPUNIT_ASSERT_EQUAL(401, status);
        const auto page = httpGet(gateway.port(), "/metrics", bearer(key)).body;
        // One verify for the bad key, one for the good key reading the metrics.
        CPPUNIT_ASSERT_EQUAL(2.0, metricValue(page, "sluice_auth_verify_seconds_count"));
    }

    void aTrustedProxyNamesTheClient() {
        AuthDeployment deployment(StoreKind::SQLite, nullptr,
                                  "auth.failures_per_ip_per_min = 5\nserver.trusted_proxies = 127.0.0.0/8, ::1\n");
        FakeBackend backend("ollama", "box");
        TestGateway gateway(deployment.configWith(backend));
        auto guess = [&](const std::string& client, int n) {
            const auto bad = "slk_CCCCCCCCCCC" + std::to_string(n % 10) + "_" + std::string(42, 'q') + std::to_string(n / 10);
            return httpGet(gateway.port(), "/api/tags",
                           {{"Authorization", "Bearer " + bad}, {"X-Forwarded-For", "203.0.113.7, " + client}})
                .status;
        };
        // Eight clients behind the proxy, one failure each: nobody is throttled.
        for (int i = 0; i < 8; ++i) CPPUNIT_ASSERT_EQUAL(401, guess("198.51.100." + std::to_string(i), i));
        // One client behind the proxy failing repeatedly is.
        for (int i = 0; i < 5; ++i) CPPUNIT_ASSERT_EQUAL(401, guess("198.51.100.99", 10 + i));
        CPPUNIT_ASSERT_EQUAL(429, guess("198.51.100.99", 20));
        CPPUNIT_ASSERT_EQUAL(401, guess("198.51.100.98", 21));
        // A client's own X-Forwarded-For line before the proxy's own line changes nothing.
        const auto spoofed = rawExchange(gateway.port(), "GET /api/tags HTTP/1.1\r\nHost: x\r\n"
                                                         "Authorization: Bearer slk_DDDDDDDDDDDD_" + std::string(43, 'q') + "\r\n"
                                                         "X-Forwarded-For: 198.51.100.1\r\n"
                                                         "X-Forwarded-For: 198.51.100.99\r\nConnection: close\r\n\r\n");
        CPPUNIT_ASSERT_MESSAGE(spoofed.substr(0, 100), spoofed.rfind("HTTP/1.1 429", 0) == 0);
    }

    void malformedHeadersGet401AndServingGoesOn() {
        AuthDeployment deployment(StoreKind::SQLite, nullptr, "auth.failures_per_ip_per_min = 1000\n");
        FakeBackend backend("ollama", "box");
        TestGateway gateway(deployment.configWith(backend));
        const auto key = deployment.createKey(deployment.createTenant("team", {"--all-models"}));
        const std::vector<std::string> headers = {
            "Authorization: Bearer\r\n",
            "Authorization: Bearer \r\n",
            "Authorization: Basic dXNlcjpwYXNz\r\n",
            "Authorization: " + key + "\r\n",
            "Authorization: Bearer " + std::string(10 * 1024, 'k') + "\r\n",
            "x-api-key: " + std::string(10 * 1024, 'k') + "\r\n",
            "Authorization: Bearer slk_\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9_" + std::string(43, 'x') + "\r\n",
            "Authorization: Bearer " + key.substr(0, 20) + std::string(1, '\0') + key.substr(21) + "\r\n",
            "Authorization: Bearer " + key.substr(0, 20) + "\r\nX-Injected: " + key.substr(20) + "\r\n",
            "x-api-key: \r\n",
        };
        for (const auto& header : headers) {
            const auto answer = rawExchange(gateway.port(), chatRequest(header));
            CPPUNIT_ASSERT_MESSAGE(answer.substr(0, 200), answer.rfind("HTTP/1.1 401", 0) == 0);
        }
        CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false), bearer(key)).status);
    }

    // Everything the gateway and sluicectl print in a run that creates, uses,
    // mistypes and revokes a key, at the most verbose log level: neither the
    // key, nor its secret, nor its stored hash may appear.
    void secretsNeverAppearInAnyOutput() {
        AuthDeployment deployment(StoreKind::SQLite, nullptr, "log.level = trace\n");
        FakeBackend backend("ollama", "box");
        TestGateway gateway(deployment.configWith(backend));
        const auto tenant = deployment.createTenant("team", {"--all-models"});
        const auto key = deployment.createKey(tenant);
        const auto secret = key.substr(17);
        auto wrong = key;
        wrong.back() = wrong.back() == 'a' ? 'b' : 'a';

        std::string seen;
        for (const auto& presented : {key, wrong, key}) {
            seen += httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", true), bearer(presented)).body;
            seen += httpPost(gateway.port(), "/v1/chat/completions", openAiChat("llama3.2", false), {{"x-api-key", presented}}).body;
        }
        seen += httpGet(gateway.port(), "/metrics", bearer(key)).body;
        seen += httpGet(gateway.port(), "/v1/health", bearer(key)).body;
        for (const auto& args : std::vector<std::vector<std::string>>{
                 {"keys", "list"}, {"--json", "keys", "list"}, {"tenants", "list"}, {"keys", "revoke", keyIdOf(key)}})
            seen += deployment.ctl(args).output;
        CPPUNIT_ASSERT(eventually([&] { return httpGet(gateway.port(), "/api/tags", bearer(key)).status == 401; }));
        seen += gateway.output();

        const auto hash = deployment.storedHash(keyIdOf(key));
        CPPUNIT_ASSERT(!hash.empty());
        CPPUNIT_ASSERT(contains(seen, keyIdOf(key)));  // the public id may appear: the capture is real
        CPPUNIT_ASSERT(!contains(seen, secret));
        CPPUNIT_ASSERT(!contains(seen, wrong.substr(17)));
        CPPUNIT_ASSERT(!contains(seen, hash.substr(hash.rfind('$') + 1)));
        CPPUNIT_ASSERT(!contains(seen, hash));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuthAbuseTest);

} // namespace sluice::test
