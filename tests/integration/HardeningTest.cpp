// Hostile bytes from a client: each case is one that a build before the
// hardening issue (16) got wrong. A crash, a desynced connection, a body
// forwarded incomplete or a field read as the wrong type; now each gets a
// clear answer in the client's shape and the gateway keeps serving.

#include <cppunit/extensions/HelperMacros.h>

#include <thread>
#include <vector>

#include <Poco/Net/StreamSocket.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {
// How many HTTP answers a raw exchange holds.
int answersIn(const std::string& raw) {
    int count = 0;
    for (auto at = raw.find("HTTP/1.1 "); at != std::string::npos; at = raw.find("HTTP/1.1 ", at + 1)) ++count;
    return count;
}

// A chat whose messages nest `depth` arrays deep.
std::string nestedChat(std::size_t depth) {
    return R"({"model":"llama3.2","messages":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
}

// Sends `bytes`, ends the sending side (the client is done), reads the answer.
std::string sendAndHalfClose(int port, const std::string& bytes) {
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
    socket.setReceiveTimeout(Poco::Timespan(5, 0));
    socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
    socket.shutdownSend();
    std::string answer;
    char buffer[8192];
    try {
        for (int n; (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;) answer.append(buffer, static_cast<std::size_t>(n));
    } catch (const Poco::Exception&) {
    }
    return answer;
}

// The value of an unlabelled gauge or counter on /metrics, or -1.
long long metricValue(int port, const std::string& name) {
    const auto text = httpGet(port, "/metrics").body;
    const auto at = text.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(text.substr(at + name.size() + 2));
}

const std::string kChat = R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":false})";
} // namespace

class HardeningTest : public OneBackendFixture {
    CPPUNIT_TEST_SUITE(HardeningTest);
    CPPUNIT_TEST(deeplyNestedBodyIs400AndTheGatewayLives);
    CPPUNIT_TEST(nestingWithinTheBoundIsServed);
    CPPUNIT_TEST(chunkedTrailersAreReadToTheirEnd);
    CPPUNIT_TEST(aRequestHiddenInTrailersIsNotServed);
    CPPUNIT_TEST(truncatedBodiesAre400AndNeverForwarded);
    CPPUNIT_TEST(chunkedInHttp10Is400);
    CPPUNIT_TEST(refusalsKeepTheConnectionSound);
    CPPUNIT_TEST(aRefusalWithAHugeBodyCloses);
    CPPUNIT_TEST(wrongFieldTypesAre400NamingTheField);
    CPPUNIT_TEST(clientStringsCannotForgeLogLines);
    CPPUNIT_TEST(aClientThatStopsReadingIsCutOff);
    CPPUNIT_TEST(compressedOrNonJsonAnswersAre502);
    CPPUNIT_TEST(wholeAnswersShareOneBudget);
    CPPUNIT_TEST(memoryOfBigAnswersGoesBack);
    CPPUNIT_TEST(idleConnectionsHoldNoThread);
    CPPUNIT_TEST_SUITE_END();

public:
    void assertStillServing() { assertStillServing(_gateway->port()); }
    static void assertStillServing(int port) { CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", false)).status); }

    void deeplyNestedBodyIs400AndTheGatewayLives() {
        // 70,000 levels crashed the gateway (a recursive copy of the parsed
        // body); "llama3.2" is rewritten to "llama3.2:latest", which copied it.
        for (const std::size_t depth : {129, 10000, 70000}) {
            const auto ollama = httpPost(_gateway->port(), "/api/chat", nestedChat(depth));
            CPPUNIT_ASSERT_EQUAL(400, ollama.status);
            CPPUNIT_ASSERT(ollama.json()["error"].get<std::string>().find("128") != std::string::npos);
            const auto openai = httpPost(_gateway->port(), "/v1/chat/completions", nestedChat(depth));
            CPPUNIT_ASSERT_EQUAL(400, openai.status);
            CPPUNIT_ASSERT_EQUAL(std::string("json_too_deep"), openai.json()["error"]["code"].get<std::string>());
        }
        CPPUNIT_ASSERT_EQUAL(0, chatsAt(*_backend));
        assertStillServing();
    }

    void nestingWithinTheBoundIsServed() {
        // A tool schema nests deep, but not 128 levels: 100 levels under "tools" pass.
        const std::string tools = R"(,"tools":[{"type":"function","function":{"name":"f","parameters":)" +
                                  std::string(95, '[') + std::string(95, ']') + "}}]";
        auto body = kChat;
        body.insert(body.size() - 1, tools);
        const auto answer = httpPost(_gateway->port(), "/api/chat", body);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, 200, answer.status);
    }

    void chunkedTrailersAreReadToTheirEnd() {
        // Two trailer fields: the second was parsed as the next request (a phantom 400).
        const std::string chat = "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 "Transfer-Encoding: chunked\r\n\r\n" +
                                 hex(kChat.size()) + "\r\n" + kChat + "\r\n0\r\nX-One: 1\r\nX-Two: 2\r\n\r\n";
        const auto raw = rawExchange(_gateway->port(),
                                     chat + "GET /api/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(raw, 2, answersIn(raw));
        CPPUNIT_ASSERT(raw.starts_with("HTTP/1.1 200"));
        CPPUNIT_ASSERT(raw.find("HTTP/1.1 400") == std::string::npos);
        CPPUNIT_ASSERT(raw.find("\"version\"") != std::string::npos);
    }

    void aRequestHiddenInTrailersIsNotServed() {
        // Everything up to the empty line after the last chunk is the chat's
        // trailer section; a proxy in front sees one request, and so must we.
        const std::string raw = rawExchange(_gateway->port(),
                                            "POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                            "Connection: close\r\n\r\n" +
                                                hex(kChat.size()) + "\r\n" + kChat +
                                                "\r\n0\r\nX: 1\r\nGET /api/version HTTP/1.1\r\nHost: x\r\n\r\n");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(raw, 1, answersIn(raw));
        CPPUNIT_ASSERT(raw.starts_with("HTTP/1.1 200"));
        CPPUNIT_ASSERT(raw.find("\"version\"") == std::string::npos);
    }

    void truncatedBodiesAre400AndNeverForwarded() {
        const auto shortLength = sendAndHalfClose(_gateway->port(),
                                                  "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                                      std::to_string(kChat.size() + 40) + "\r\n\r\n" + kChat);
        CPPUNIT_ASSERT_MESSAGE(shortLength, shortLength.starts_with("HTTP/1.1 400"));
        CPPUNIT_ASSERT_MESSAGE(shortLength, shortLength.find("ended before its length") != std::string::npos);
        const auto noLastChunk = sendAndHalfClose(_gateway->port(),
                                                  "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                                      hex(kChat.size()) + "\r\n" + kChat + "\r\n");
        CPPUNIT_ASSERT_MESSAGE(noLastChunk, noLastChunk.starts_with("HTTP/1.1 400"));
        CPPUNIT_ASSERT(noLastChunk.find("incomplete_body") != std::string::npos);
        const auto brokenChunk = rawExchange(_gateway->port(),
                                             "POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        CPPUNIT_ASSERT_MESSAGE(brokenChunk, brokenChunk.starts_with("HTTP/1.1 400"));
        CPPUNIT_ASSERT_EQUAL(0, chatsAt(*_backend));
        assertStillServing();
    }

    void chunkedInHttp10Is400() {
        const auto raw = rawExchange(_gateway->port(), "POST /api/chat HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                                           hex(kChat.size()) + "\r\n" + kChat + "\r\n0\r\n\r\n");
        CPPUNIT_ASSERT_MESSAGE(raw, raw.starts_with("HTTP/1.1 400"));
        CPPUNIT_ASSERT(raw.find("HTTP/1.0") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(0, chatsAt(*_backend));
    }

    void refusalsKeepTheConnectionSound() {
        // Each refusal with a body, then an ordinary chat on the same
        // keep-alive connection, as the SDKs do: the chat must be served.
        HttpClient client(_gateway->port());
        const struct {
            const char* method;
            const char* path;
            int status;
        } refusals[] = {{"POST", "/v1/nothing", 404}, {"POST", "/api/pull", 403}, {"POST", "/v1/models", 405},
                        {"POST", "/api/nothing", 404}, {"PUT", "/api/chat", 405}};
        for (const auto& refusal : refusals) {
            const auto refused = client.send(refusal.method, refusal.path, kChat, {});
            CPPUNIT_ASSERT_EQUAL_MESSAGE(refusal.path, refusal.status, refused.status);
            CPPUNIT_ASSERT(refused.header("connection") != "close");
            const auto next = client.post("/api/chat", kChat);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(refusal.path) + ": " + next.body, 200, next.status);
        }
        // A chunked body on a refused route, trailers and all.
        const std::string chunked = "POST /v1/nothing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                    hex(kChat.size()) + "\r\n" + kChat + "\r\n0\r\nX: 1\r\n\r\n";
        const auto raw = rawExchange(_gateway->port(), chunked + "GET /api/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(raw, 2, answersIn(raw));
        CPPUNIT_ASSERT(raw.starts_with("HTTP/1.1 404"));
        CPPUNIT_ASSERT(raw.find("\"version\"") != std::string::npos);
    }

    void aRefusalWithAHugeBodyCloses() {
        // A body past limits.max_body_bytes is not read for a refusal: the
        // answer says so and the connection ends, rather than desyncing.
        const auto raw = rawExchange(_gateway->port(), "POST /v1/nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n");
        CPPUNIT_ASSERT_MESSAGE(raw, raw.starts_with("HTTP/1.1 404"));
        CPPUNIT_ASSERT_MESSAGE(raw, raw.find("Connection: Close") != std::string::npos);
    }

    void wrongFieldTypesAre400NamingTheField() {
        const struct {
            const char* path;
            const char* body;
            const char* field;
        } cases[] = {
            {"/api/chat", R"({"model":"llama3.2","messages":[],"stream":"yes"})", "stream"},
            {"/api/chat", R"({"model":"llama3.2","messages":[],"stream":1})", "stream"},
            {"/api/chat", R"({"model":"llama3.2","messages":[],"options":5})", "options"},
            {"/api/chat", R"({"model":"llama3.2","messages":{}})", "messages"},
            {"/api/chat", R"({"model":"llama3.2","messages":["hi"]})", "messages"},
            {"/api/generate", R"({"model":"llama3.2","prompt":"x","options":{"num_predict":"10"}})", "options.num_predict"},
            {"/api/generate", R"({"model":["llama3.2"],"prompt":"x"})", "model"},
            {"/v1/chat/completions", R"({"model":"llama3.2","messages":[],"max_tokens":"10"})", "max_tokens"},
            {"/v1/chat/completions", R"({"model":"llama3.2","messages":[],"temperature":"hot"})", "temperature"},
            {"/v1/chat/completions", R"({"model":"llama3.2","messages":[],"stream_options":true})", "stream_options"},
            {"/v1/completions", R"({"model":"llama3.2","prompt":7})", "prompt"},
            {"/v1/embeddings", R"({"model":"llama3.2","input":{}})", "input"},
        };
        for (const auto& wrong : cases) {
            const auto answer = httpPost(_gateway->port(), wrong.path, wrong.body);
            const std::string context = std::string(wrong.path) + " " + wrong.body + ": " + answer.body;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(context, 400, answer.status);
            const auto json = answer.json();
            CPPUNIT_ASSERT_MESSAGE(context, json.is_object() && json.contains("error"));
            const auto& error = json["error"];
            const auto message = error.is_string() ? error.get<std::string>() : error["message"].get<std::string>();
            CPPUNIT_ASSERT_MESSAGE(context, message.starts_with(std::string(wrong.field) + " must be"));
        }
        CPPUNIT_ASSERT_EQUAL(0, chatsAt(*_backend));
        // Right types, including a whole number written as 100.0 and null as absent, pass.
        CPPUNIT_ASSERT_EQUAL(200, httpPost(_gateway->port(), "/v1/chat/completions",
                                           R"({"model":"llama3.2","messages":[{"role":"user","content":"x"}],"max_tokens":100.0,"temperature":null})")
                                      .status);
    }

    void clientStringsCannotForgeLogLines() {
        // A model name with a line end and a fake line after it, on a refused
        // request (no backend hosts it): the access line names it escaped.
        const std::string forged = "FORGED reloaded: configuration generation 99";
        const auto body = nlohmann::json{{"model", "x\r\n" + forged + std::string(1, '\0') + "\x01 status=200"}, {"messages", nlohmann::json::array()}}.dump();
        CPPUNIT_ASSERT_EQUAL(403, httpPost(_gateway->port(), "/api/chat", body).status);
        CPPUNIT_ASSERT(eventually([&] { return _gateway->output().find(forged) != std::string::npos; }));
        const auto output = _gateway->output();
        std::size_t lines = 0;
        for (std::size_t at = 0, end; (end = output.find('\n', at)) != std::string::npos; at = end + 1) {
            const auto line = output.substr(at, end - at);
            CPPUNIT_ASSERT_MESSAGE(line, !line.starts_with("FORGED") && line.find('\r') == std::string::npos &&
                                             line.find('\0') == std::string::npos);
            if (line.find(forged) == std::string::npos) continue;
            ++lines;
            // Escaped, and quoted as one value: " status=200" cannot pose as a field of its own.
            CPPUNIT_ASSERT_MESSAGE(line, line.find("model=\"x\\r\\n" + forged + "\\x00\\x01 status=200\"") != std::string::npos);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, lines);
    }

    void aClientThatStopsReadingIsCutOff() {
        // A stream of some 30 MB to a client that reads none of it: once the
        // socket buffers are full, server.write_timeout_s ends it, and the
        // backend sees its request cancelled (before, the gateway waited on
        // the client for as long as the client liked).
        OneBackendGateway setup("server.write_timeout_s = 1\n");
        setup.backend.setRules(nlohmann::json::array({{{"chunks", 300000}}}));
        Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(setup.gateway.port())));
        socket.setReceiveBufferSize(4096);
        const auto request = "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                             std::to_string(ollamaChat("llama3.2", true).size()) + "\r\n\r\n" + ollamaChat("llama3.2", true);
        socket.sendBytes(request.data(), static_cast<int>(request.size()));
        // Bounded wait for the cut-off; a gateway without a write deadline never gets there.
        CPPUNIT_ASSERT(eventually([&] { return setup.backend.stats()["cancelled"].get<int>() >= 1; }, std::chrono::seconds(30)));
        CPPUNIT_ASSERT(eventually([&] { return setup.backend.stats()["in_flight"].get<int>() == 0; }));
        CPPUNIT_ASSERT_EQUAL(200, httpPost(setup.gateway.port(), "/api/chat", ollamaChat("llama3.2", false)).status);
    }

    void compressedOrNonJsonAnswersAre502() {
        // The gateway asks for identity; a gzip answer relayed as it came
        // reached the client without its Content-Encoding, as garbage with 200.
        _backend->setRules(nlohmann::json::array({{{"headers", {{"Content-Encoding", "gzip"}}}, {"times", 2}}}));
        CPPUNIT_ASSERT_EQUAL(std::string("identity"),
                             [&] {
                                 httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false));
                                 return _backend->stats()["last_request"]["headers"].value("accept-encoding", "");
                             }());
        CPPUNIT_ASSERT_EQUAL(502, httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("llama3.2", false)).status);
        // An HTML page with 200 is not an answer either.
        _backend->setRules(nlohmann::json::array({{{"raw_body", "<html>maintenance</html>"}, {"times", 1}}}));
        const auto html = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(502, html.status);
        CPPUNIT_ASSERT(html.body.find("maintenance") == std::string::npos);
        assertStillServing();
    }

private:
    static std::string hex(std::size_t n) {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%zx", n);
        return buffer;
    }

    void wholeAnswersShareOneBudget() {
        // A 1 MiB budget across all requests: one answer stalls after 600 KB
        // (held, waiting for the rest), so a second answer of 700 KB does not
        // fit and is answered 503, while either alone fits. Before, each
        // request had its own 64 MiB and eight of them held 1.3 GB.
        OneBackendGateway setup("limits.answer_buffer_bytes = 1048576\nbackends.gpu.timeout.idle_ms = 8000\n");
        const auto port = setup.gateway.port();
        setup.backend.setRules(nlohmann::json::array(
            {{{"stall_after_bytes", 600000}, {"pad_bytes", 700000}, {"times", 1}}, {{"pad_bytes", 700000}}}));
        Poco::Net::StreamSocket held(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
        const auto request = "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(kChat.size()) + "\r\n\r\n" + kChat;
        held.sendBytes(request.data(), static_cast<int>(request.size()));
        CPPUNIT_ASSERT(eventually([&] { return metricValue(port, "sluice_answer_buffer_bytes") >= 600000; }));

        const auto refused = httpPost(port, "/v1/chat/completions", openAiChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(refused.body, 503, refused.status);
        CPPUNIT_ASSERT_EQUAL(std::string("gateway_busy"), refused.json()["error"]["code"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("1"), refused.header("retry-after"));

        // The stalled request ends (its client leaves, or the idle limit
        // passes): its share comes back, and the same answer now fits.
        held.close();
        CPPUNIT_ASSERT(eventually([&] { return metricValue(port, "sluice_answer_buffer_bytes") == 0; }, std::chrono::seconds(20)));
        const auto served = httpPost(port, "/v1/chat/completions", openAiChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(200, served.status);
        CPPUNIT_ASSERT_EQUAL(std::size_t(700000), served.json()["padding"].get<std::string>().size());
    }

    void memoryOfBigAnswersGoesBack() {
        // Four concurrent 24 MB answers, each buffered whole and parsed: the
        // gateway peaks well above 100 MB. Afterwards its memory must be back
        // near where it started; before, glibc kept most of it for good.
        OneBackendGateway setup;
        const auto port = setup.gateway.port();
        setup.backend.setRules(nlohmann::json::array({{{"pad_bytes", 24000000}}}));
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", false)).status);  // warm: pools, arenas
        const auto before = processStatus(setup.gateway.process().pid(), "VmRSS");
        std::vector<std::thread> clients;
        std::vector<int> statuses(4, 0);
        for (std::size_t i = 0; i < statuses.size(); ++i)
            clients.emplace_back([&, i] { statuses[i] = httpPost(port, "/api/chat", ollamaChat("llama3.2", false)).status; });
        for (auto& client : clients) client.join();
        for (const int status : statuses) CPPUNIT_ASSERT_EQUAL(200, status);
        const auto after = processStatus(setup.gateway.process().pid(), "VmRSS");
        CPPUNIT_ASSERT(before > 0);
        CPPUNIT_ASSERT_MESSAGE("RSS " + std::to_string(before) + " KiB before, " + std::to_string(after) + " KiB after",
                               after < before + 32 * 1024);
    }

    void idleConnectionsHoldNoThread() {
        // 64 keep-alive connections, answered and left open. Each once held a
        // thread for as long as it stayed open; now the I/O threads hold them,
        // and the workers that served their requests end after
        // server.idle_thread_s while every connection is still open.
        OneBackendGateway setup("server.idle_thread_s = 1\n");
        const auto pid = setup.gateway.process().pid();
        const auto before = processStatus(pid, "Threads");
        std::vector<std::unique_ptr<Poco::Net::StreamSocket>> connections;
        const std::string request = "GET /api/version HTTP/1.1\r\nHost: x\r\n\r\n";
        auto askAndRead = [&](Poco::Net::StreamSocket& connection) {
            connection.sendBytes(request.data(), static_cast<int>(request.size()));
            connection.setReceiveTimeout(Poco::Timespan(10, 0));
            char buffer[512];
            return connection.receiveBytes(buffer, sizeof buffer) > 0;
        };
        for (int i = 0; i < 64; ++i)
            connections.push_back(std::make_unique<Poco::Net::StreamSocket>(
                Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(setup.gateway.port()))));
        for (auto& connection : connections) CPPUNIT_ASSERT(askAndRead(*connection));
        CPPUNIT_ASSERT_MESSAGE("threads before: " + std::to_string(before) + ", now: " + std::to_string(processStatus(pid, "Threads")),
                               eventually([&] { return processStatus(pid, "Threads") <= before + 4; }, std::chrono::seconds(20)));
        // Still open and served: each takes its next request.
        for (auto& connection : connections) CPPUNIT_ASSERT(askAndRead(*connection));
        assertStillServing(setup.gateway.port());
    }
};CPPUNIT_TEST_SUITE_REGISTRATION(HardeningTest);

} // namespace sluice::test
