// The gateway facing browsers and hostile clients: CORS answers for the
// origins in server.cors.origins (preflights before auth, every answer
// readable by the page, other origins told nothing), and slow clients that
// cannot pin the connection threads while others are served.

#include <thread>

#include <cppunit/extensions/HelperMacros.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "AuthDeployment.h"
#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {

using namespace std::chrono_literals;

const std::string kPage = "https://chat.example.com";

Headers preflight(const std::string& origin) {
    return {{"Origin", origin},
            {"Access-Control-Request-Method", "POST"},
            {"Access-Control-Request-Headers", "authorization, content-type, x-stainless-os"}};
}

} // namespace

class EdgeTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(EdgeTest);
    CPPUNIT_TEST(corsAnswersTheConfiguredOrigins);
    CPPUNIT_TEST(withoutCorsNoOriginIsAnswered);
    CPPUNIT_TEST_SUITE_END();

public:
    void corsAnswersTheConfiguredOrigins() {
        // With API keys: a preflight carries none and must still be answered.
        AuthDeployment deployment(StoreKind::SQLite, nullptr, "server.cors.origins = " + kPage + ", http://localhost:3000\n");
        FakeBackend backend("ollama", "box");
        TestGateway gateway(deployment.configWith(backend));
        const auto key = deployment.createKey(deployment.createTenant("web", {"--all-models"}));
        const int port = gateway.port();

        const auto allowed = HttpClient(port).send("OPTIONS", "/v1/chat/completions", "", preflight(kPage));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(allowed.body, 204, allowed.status);
        CPPUNIT_ASSERT_EQUAL(kPage, allowed.header("access-control-allow-origin"));
        CPPUNIT_ASSERT(allowed.header("access-control-allow-methods").find("POST") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("authorization, content-type, x-stainless-os"),
                             allowed.header("access-control-allow-headers"));
        CPPUNIT_ASSERT(allowed.header("vary").find("Origin") != std::string::npos);

        const auto refused = HttpClient(port).send("OPTIONS", "/v1/chat/completions", "", preflight("https://evil.example"));
        CPPUNIT_ASSERT_EQUAL(403, refused.status);
        CPPUNIT_ASSERT_EQUAL(std::string("cors_forbidden"), refused.json()["error"]["code"].get<std::string>());
        CPPUNIT_ASSERT(refused.header("access-control-allow-origin").empty());

        // The real request: its answer (and an error's) readable by the page.
        auto headers = bearer(key);
        headers["Origin"] = kPage;
        const auto answer = httpPost(port, "/v1/chat/completions", openAiChat("llama3.2", true), headers);
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(kPage, answer.header("access-control-allow-origin"));
        CPPUNIT_ASSERT(answer.header("access-control-expose-headers").find("X-Sluice-Backend") != std::string::npos);
        const auto unauthorized = httpPost(port, "/v1/chat/completions", openAiChat("llama3.2", false), {{"Origin", kPage}});
        CPPUNIT_ASSERT_EQUAL(401, unauthorized.status);
        CPPUNIT_ASSERT_EQUAL(kPage, unauthorized.header("access-control-allow-origin"));
        // Another origin's request is served (browsers enforce CORS) but not made readable.
        headers["Origin"] = "https://evil.example";
        const auto other = httpPost(port, "/v1/chat/completions", openAiChat("llama3.2", false), headers);
        CPPUNIT_ASSERT_EQUAL(200, other.status);
        CPPUNIT_ASSERT(other.header("access-control-allow-origin").empty());
    }

    void withoutCorsNoOriginIsAnswered() {
        OneBackendGateway setup;
        const auto answer = HttpClient(setup.gateway.port()).send("OPTIONS", "/api/chat", "", preflight(kPage));
        CPPUNIT_ASSERT_EQUAL(403, answer.status);
        CPPUNIT_ASSERT(answer.header("access-control-allow-origin").empty());
        CPPUNIT_ASSERT(!answer.json()["error"].get<std::string>().empty());  // Ollama's shape
        // A bad entry stops the start, naming the key.
        const auto failed = startExpectingFailure(baseConfig() + "backends = gpu\n" + backendConfig("gpu", setup.backend.url()) +
                                                  "server.cors.origins = chat.example.com\n");
        CPPUNIT_ASSERT_EQUAL(78, failed.exitCode);
        CPPUNIT_ASSERT_MESSAGE(failed.output, failed.output.find("server.cors.origins") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(EdgeTest);

} // namespace sluice::test
