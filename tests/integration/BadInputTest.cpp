// Bad input gets a clear answer in the client's protocol shape, and the
// gateway keeps serving: every case is followed by a normal request.

#include <cppunit/extensions/HelperMacros.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

class BadInputTest : public OneBackendFixture {
    CPPUNIT_TEST_SUITE(BadInputTest);
    CPPUNIT_TEST(malformedJsonIs400);
    CPPUNIT_TEST(missingModelIs400);
    CPPUNIT_TEST(oversizedBodyIs413WithoutReadingIt);
    CPPUNIT_TEST(oversizedChunkedBodyIs413);
    CPPUNIT_TEST(unknownRouteIs404);
    CPPUNIT_TEST(wrongMethodIs405);
    CPPUNIT_TEST(managementRoutesAre403);
    CPPUNIT_TEST(unhostedModelIs403);
    CPPUNIT_TEST(unreachableBackendIs502WithoutDetails);
    CPPUNIT_TEST(throwingPluginIs500AndServingGoesOn);
    CPPUNIT_TEST(invalidUtf8StillGetsAnAnswer);
    CPPUNIT_TEST(trailingSlashIsTheSameCall);
    CPPUNIT_TEST(backendClientErrorsPassOnSafely);
    CPPUNIT_TEST_SUITE_END();

public:
    // The gateway still serves a normal request.
    void assertStillServing(int port) {
        const auto answer = httpPost(port, "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
    }

    void malformedJsonIs400() {
        const auto ollama = httpPost(_gateway->port(), "/api/chat", "{\"model\": \"llama3.2\", ");
        CPPUNIT_ASSERT_EQUAL(400, ollama.status);
        CPPUNIT_ASSERT(ollama.json()["error"].is_string());
        const auto openai = httpPost(_gateway->port(), "/v1/chat/completions", "[1,2,3]");
        CPPUNIT_ASSERT_EQUAL(400, openai.status);
        CPPUNIT_ASSERT_EQUAL(std::string("invalid_request_error"), openai.json()["error"]["type"].get<std::string>());
        assertStillServing(_gateway->port());
    }

    void missingModelIs400() {
        const auto answer = httpPost(_gateway->port(), "/v1/embeddings", R"({"input":"x"})");
        CPPUNIT_ASSERT_EQUAL(400, answer.status);
        CPPUNIT_ASSERT(answer.json()["error"]["message"].get<std::string>().find("model") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(400, httpPost(_gateway->port(), "/api/chat", R"({"model":42})").status);
        assertStillServing(_gateway->port());
    }

    void oversizedBodyIs413WithoutReadingIt() {
        // Announces 10 MB and sends none of it: the answer must not wait for the body.
        const auto answer = rawExchange(_gateway->port(),
                                        "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                        "Content-Length: 10000000\r\n\r\n");
        CPPUNIT_ASSERT(answer.starts_with("HTTP/1.1 413"));
        CPPUNIT_ASSERT(answer.find("\"error\"") != std::string::npos);
        assertStillServing(_gateway->port());
    }

    void oversizedChunkedBodyIs413() {
        std::string request = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        const std::string chunk(65536, 'a');
        for (int i = 0; i < 5; ++i) request += "10000\r\n" + chunk + "\r\n";
        request += "0\r\n\r\n";
        const auto answer = rawExchange(_gateway->port(), request);
        CPPUNIT_ASSERT(answer.starts_with("HTTP/1.1 413"));
        CPPUNIT_ASSERT(answer.find("request_too_large") != std::string::npos);
        assertStillServing(_gateway->port());
    }

    void unknownRouteIs404() {
        const auto ollama = httpGet(_gateway->port(), "/api/nothing");
        CPPUNIT_ASSERT_EQUAL(404, ollama.status);
        CPPUNIT_ASSERT(ollama.json()["error"].is_string());
        const auto openai = httpPost(_gateway->port(), "/v1/nothing", "{}");
        CPPUNIT_ASSERT_EQUAL(404, openai.status);
        CPPUNIT_ASSERT(openai.json()["error"]["message"].is_string());
        assertStillServing(_gateway->port());
    }

    void wrongMethodIs405() {
        const auto answer = httpGet(_gateway->port(), "/api/chat");
        CPPUNIT_ASSERT_EQUAL(405, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("POST"), answer.header("allow"));
        CPPUNIT_ASSERT_EQUAL(405, httpPost(_gateway->port(), "/v1/models", "{}").status);
        assertStillServing(_gateway->port());
    }

    void managementRoutesAre403() {
        for (const auto* path : {"/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete", "/api/blobs/sha256:abc"}) {
            const auto answer = HttpClient(_gateway->port()).send(std::string(path) == "/api/delete" ? "DELETE" : "POST", path,
                                                                 R"({"model":"llama3.2"})", {});
            CPPUNIT_ASSERT_EQUAL_MESSAGE(path, 403, answer.status);
        }
        // Nothing reached the backend.
        for (const auto* path : {"/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete", "/api/blobs/sha256:abc"})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(path, 0, requestsAt(*_backend, path));
        assertStillServing(_gateway->port());
    }

    void unhostedModelIs403() {
        const auto answer = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("no-such-model", false));
        CPPUNIT_ASSERT_EQUAL(403, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("model not allowed"), answer.json()["error"]["message"].get<std::string>());
        assertStillServing(_gateway->port());
    }

    void unreachableBackendIs502WithoutDetails() {
        _backend->kill();
        const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT(answer.status == 502 || answer.status == 503);
        const auto message = answer.json()["error"].get<std::string>();
        CPPUNIT_ASSERT(message.find("127.0.0.1") == std::string::npos);
        CPPUNIT_ASSERT(message.find("http") == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(_gateway->port(), "/healthz").status);
    }

    void throwingPluginIs500AndServingGoesOn() {
        TestGateway gateway(baseConfig() + "plugins.path = " SLUICE_TEST_PLUGIN_DIR "\n" +
                            "plugins.load = throwing, " SLUICE_PLUGIN_DIR "/router.so, " SLUICE_PLUGIN_DIR "/discovery.so\n" +
                            "pipeline.auth = throwing\nbackends = gpu\n" + backendConfig("gpu", _backend->url()));
        const auto failed = httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false), {{"X-Test-Throw", "1"}});
        CPPUNIT_ASSERT_EQUAL(500, failed.status);
        CPPUNIT_ASSERT(failed.body.find("deliberate") == std::string::npos);
        // Logged before the 500 went out; the pipe may deliver it a moment later.
        CPPUNIT_ASSERT(gateway.process().waitForLine(std::regex("deliberate failure"), std::chrono::seconds(10)));
        assertStillServing(gateway.port());
    }

    void invalidUtf8StillGetsAnAnswer() {
        const auto answer = rawExchange(_gateway->port(), "GET /v1/models/x\xc3\xa9\xc3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CPPUNIT_ASSERT_MESSAGE(answer, answer.starts_with("HTTP/1.1 404 Not Found"));
        CPPUNIT_ASSERT(answer.find("model_not_found") != std::string::npos);
        const auto route = rawExchange(_gateway->port(), "GET /api/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CPPUNIT_ASSERT_MESSAGE(route, route.starts_with("HTTP/1.1 404 Not Found"));
        assertStillServing(_gateway->port());
    }

    void trailingSlashIsTheSameCall() {
        const auto answer = httpPost(_gateway->port(), "/api/chat/", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/api/chat"), _backend->stats()["last_request"]["path"].get<std::string>());
    }

    void backendClientErrorsPassOnSafely() {
        // A message cut at 300 bytes must not split a UTF-8 character.
        std::string longMessage(299, 'a');
        for (int i = 0; i < 20; ++i) longMessage += "\xc3\xa9";
        _backend->setRules({{{"status", 400}, {"message", longMessage}, {"times", 1}}});
        const auto cut = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(400, cut.status);
        CPPUNIT_ASSERT(cut.json()["error"].get<std::string>().starts_with(std::string(299, 'a')));
        // A message naming a URL or the backend's host is replaced.
        for (const auto& revealing : {std::string("see http://10.0.0.7/debug"), std::string("bad input at 127.0.0.1")}) {
            _backend->setRules({{{"status", 400}, {"message", revealing}, {"times", 1}}});
            const auto answer = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("llama3.2", false));
            CPPUNIT_ASSERT_EQUAL(400, answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string("the backend rejected the request"), answer.json()["error"]["message"].get<std::string>());
        }
        _backend->setRules({{{"status", 422}, {"message", "options.temperature must be a number"}, {"times", 1}}});
        const auto plain = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(422, plain.status);
        CPPUNIT_ASSERT_EQUAL(std::string("options.temperature must be a number"), plain.json()["error"].get<std::string>());
        assertStillServing(_gateway->port());
    }

};

CPPUNIT_TEST_SUITE_REGISTRATION(BadInputTest);

} // namespace sluice::test
