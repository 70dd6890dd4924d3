// The gateway reads request heads itself (kernel/front/ServerRequest): header
// values longer than Poco's fixed 8 KiB reach the handler, and a head it
// refuses gets a JSON error in the client's protocol shape, after which the
// gateway keeps serving.

#include <cppunit/extensions/HelperMacros.h>

#include <Poco/Net/StreamSocket.h>
#include <Poco/String.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {
struct RawAnswer {
    std::string head;  // status line and header lines
    std::string body;
    nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

RawAnswer split(const std::string& answer) {
    const auto end = answer.find("\r\n\r\n");
    if (end == std::string::npos) return {answer, {}};
    return {answer.substr(0, end + 2), answer.substr(end + 4)};
}

std::string postHead(const std::string& path, const std::string& extraHeaders, std::size_t bodyLength) {
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extraHeaders +
           "Content-Length: " + std::to_string(bodyLength) + "\r\n\r\n";
}
} // namespace

class RequestHeadTest : public OneBackendFixture {
    CPPUNIT_TEST_SUITE(RequestHeadTest);
    CPPUNIT_TEST(longHeaderValuesAreServedOnOneConnection);
    CPPUNIT_TEST(oversizedHeadIs431InTheClientsShape);
    CPPUNIT_TEST(malformedHeadsAre400);
    CPPUNIT_TEST(configuredLimitApplies);
    CPPUNIT_TEST(bodiesContinueAndHeadStillWork);
    CPPUNIT_TEST(obsTextInAValueIsRead);
    CPPUNIT_TEST_SUITE_END();

public:
    void assertStillServing(int port) {
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", false)).status);
    }

    void longHeaderValuesAreServedOnOneConnection() {
        // Over Poco's 8 KiB per value; the last two make lines of 4094 and
        // 8186 bytes, where Poco's header stream, which read heads before, ended early.
        const Headers headers{{"x-api-key", std::string(10 * 1024, 'k')},
                              {"X-Custom", std::string(20 * 1024, 'c')},
                              {"X-Edge-A", std::string(4094 - 2 - 10, 'a')},
                              {"X-Edge-B", std::string(8186 - 2 - 10, 'b')}};
        HttpClient client(_gateway->port());
        const auto first = client.post("/api/chat", ollamaChat("llama3.2", false), headers);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(first.body, 200, first.status);
        const auto localPort = client.session().socket().address().port();
        const auto second = client.post("/v1/chat/completions", openAiChat("llama3.2", false), headers);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(second.body, 200, second.status);
        CPPUNIT_ASSERT(second.header("connection") != "close");
        CPPUNIT_ASSERT_EQUAL(localPort, client.session().socket().address().port());  // the same connection
        const auto models = client.get("/api/tags", {{"Authorization", "Bearer " + std::string(10 * 1024, 't')}});
        CPPUNIT_ASSERT_EQUAL(200, models.status);
    }

    void oversizedHeadIs431InTheClientsShape() {
        const std::string huge = "X-Custom: " + std::string(70 * 1024, 'c') + "\r\n";
        const auto body = ollamaChat("llama3.2", false);
        const auto ollama = split(rawExchange(_gateway->port(), postHead("/api/chat", huge, body.size()) + body));
        CPPUNIT_ASSERT_MESSAGE(ollama.head, ollama.head.starts_with("HTTP/1.1 431"));
        CPPUNIT_ASSERT(Poco::toLower(ollama.head).find("connection: close") != std::string::npos);
        CPPUNIT_ASSERT(ollama.json()["error"].get<std::string>().find("65536") != std::string::npos);

        const auto openai = split(rawExchange(_gateway->port(), postHead("/v1/chat/completions", huge, body.size()) + body));
        CPPUNIT_ASSERT_MESSAGE(openai.head, openai.head.starts_with("HTTP/1.1 431"));
        CPPUNIT_ASSERT_EQUAL(std::string("invalid_request_error"), openai.json()["error"]["type"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("request_header_too_large"), openai.json()["error"]["code"].get<std::string>());

        std::string many;
        for (int i = 0; i < 101; ++i) many += "X-Field-" + std::to_string(i) + ": v\r\n";
        const auto fields = split(rawExchange(_gateway->port(), postHead("/api/chat", many, body.size()) + body));
        CPPUNIT_ASSERT_MESSAGE(fields.head, fields.head.starts_with("HTTP/1.1 431"));
        CPPUNIT_ASSERT(fields.json()["error"].get<std::string>().find("100 header fields") != std::string::npos);
        assertStillServing(_gateway->port());
    }

    void malformedHeadsAre400() {
        const auto garbage = split(rawExchange(_gateway->port(), "GARBAGE\r\n\r\n"));
        CPPUNIT_ASSERT_MESSAGE(garbage.head, garbage.head.starts_with("HTTP/1.1 400"));
        CPPUNIT_ASSERT(garbage.json()["error"].is_string());

        const auto noColon = split(rawExchange(_gateway->port(), "GET /v1/models HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n"));
        CPPUNIT_ASSERT_MESSAGE(noColon.head, noColon.head.starts_with("HTTP/1.1 400"));
        CPPUNIT_ASSERT(noColon.json()["error"]["message"].get<std::string>().find("colon") != std::string::npos);

        const auto folded = split(rawExchange(_gateway->port(), "GET /api/tags HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n"));
        CPPUNIT_ASSERT_MESSAGE(folded.head, folded.head.starts_with("HTTP/1.1 400"));
        CPPUNIT_ASSERT(folded.json()["error"].is_string());

        const auto spaced = split(rawExchange(_gateway->port(), "GET /api/tags HTTP/1.1\r\nHost : x\r\n\r\n"));
        CPPUNIT_ASSERT_MESSAGE(spaced.head, spaced.head.starts_with("HTTP/1.1 400"));

        const auto smuggled = split(rawExchange(
            _gateway->port(), "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"));
        CPPUNIT_ASSERT_MESSAGE(smuggled.head, smuggled.head.starts_with("HTTP/1.1 400"));

        const auto longLine = split(rawExchange(_gateway->port(), "GET /api/" + std::string(17 * 1024, 'x') + " HTTP/1.1\r\n\r\n"));
        CPPUNIT_ASSERT_MESSAGE(longLine.head, longLine.head.starts_with("HTTP/1.1 414"));
        CPPUNIT_ASSERT(longLine.json()["error"].is_string());
        assertStillServing(_gateway->port());
    }

    void configuredLimitApplies() {
        TestGateway small(baseConfig() + "server.max_header_bytes = 8192\nbackends = gpu\n" +
                          backendConfig("gpu", _backend->url()));
        CPPUNIT_ASSERT_EQUAL(200, httpGet(small.port(), "/healthz", {{"X-Custom", std::string(6000, 'c')}}).status);
        const auto refused = split(rawExchange(small.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Custom: " +
                                                                 std::string(9000, 'c') + "\r\n\r\n"));
        CPPUNIT_ASSERT_MESSAGE(refused.head, refused.head.starts_with("HTTP/1.1 431"));
        CPPUNIT_ASSERT(refused.json()["error"].get<std::string>().find("8192") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(small.port(), "/healthz").status);

        const auto failed = startExpectingFailure(baseConfig() + "server.max_header_bytes = 1000\n");
        CPPUNIT_ASSERT_EQUAL(78, failed.exitCode);
        CPPUNIT_ASSERT(failed.output.find("server.max_header_bytes") != std::string::npos);
    }

    void bodiesContinueAndHeadStillWork() {
        const auto body = ollamaChat("llama3.2", false);
        // A chunked body.
        std::string chunked = "POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        const auto half = body.size() / 2;
        for (const auto& piece : {body.substr(0, half), body.substr(half)}) {
            char size[16];
            std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
            chunked += size + piece + "\r\n";
        }
        chunked += "0\r\n\r\n";
        const auto answer = split(rawExchange(_gateway->port(), chunked));
        CPPUNIT_ASSERT_MESSAGE(answer.head, answer.head.starts_with("HTTP/1.1 200"));

        // Expect: 100-continue, answered before the body is sent.
        Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(_gateway->port())));
        socket.setReceiveTimeout(Poco::Timespan(5, 0));
        const auto head = postHead("/api/chat", "Expect: 100-continue\r\nConnection: close\r\n", body.size());
        socket.sendBytes(head.data(), static_cast<int>(head.size()));
        char buffer[4096];
        const int n = socket.receiveBytes(buffer, sizeof buffer);
        CPPUNIT_ASSERT(std::string(buffer, static_cast<std::size_t>(std::max(n, 0))).starts_with("HTTP/1.1 100 Continue"));
        socket.sendBytes(body.data(), static_cast<int>(body.size()));
        std::string rest;
        for (int got; (got = socket.receiveBytes(buffer, sizeof buffer)) > 0;) rest.append(buffer, static_cast<std::size_t>(got));
        CPPUNIT_ASSERT_MESSAGE(rest, rest.starts_with("HTTP/1.1 200"));  // one 100 Continue, not two

        // HEAD: headers only, and the connection carries the next request.
        const auto both = rawExchange(_gateway->port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                                        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        const auto headAnswer = split(both);
        CPPUNIT_ASSERT_MESSAGE(both, headAnswer.head.starts_with("HTTP/1.1 200"));
        CPPUNIT_ASSERT(headAnswer.body.starts_with("HTTP/1.1 200"));  // no body before the GET's answer
        CPPUNIT_ASSERT_EQUAL(std::string(R"({"status":"ok"})"), split(headAnswer.body).body);
    }

    void obsTextInAValueIsRead() {
        // RFC 9110 5.5 allows obs-text (0x80-0xff) in a field value, as in a
        // Latin-1 name. Poco's header stream, which read heads before, took a
        // 0xff byte for the end of its input: one was dropped, and two in a
        // row ended the head early (a 400).
        const std::string latin1 = "X-Client-Name: \xff\xff Ren\xe9 \xff\r\n";
        const auto body = ollamaChat("llama3.2", false);
        const auto chat =
            split(rawExchange(_gateway->port(), postHead("/api/chat", latin1 + "Connection: close\r\n", body.size()) + body));
        CPPUNIT_ASSERT_MESSAGE(chat.head, chat.head.starts_with("HTTP/1.1 200"));
        CPPUNIT_ASSERT_MESSAGE(chat.body, chat.body.find("\"message\"") != std::string::npos);

        // Exactly the head is read: the request pipelined after it is served too.
        const auto both = rawExchange(_gateway->port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n" + latin1 +
                                                            "\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        const auto first = split(both);
        CPPUNIT_ASSERT_MESSAGE(both, first.head.starts_with("HTTP/1.1 200"));
        const auto second = first.body.find("HTTP/1.1 ");
        CPPUNIT_ASSERT_MESSAGE(both, second != std::string::npos && first.body.compare(second, 12, "HTTP/1.1 200") == 0);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RequestHeadTest);

} // namespace sluice::test
