// The gateway facing browsers and hostile clients: CORS answers for the
// origins in server.cors.origins (preflights before auth, every answer
// readable by the page, other origins told nothing), and slow clients that
// cannot pin the connection threads while others are served.

#include <algorithm>
#include <array>
#include <atomic>
#include <fstream>
#include <iterator>
#include <thread>

#include <cppunit/extensions/HelperMacros.h>
#include <Poco/File.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/TemporaryFile.h>
#include <poll.h>
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

// One request from `source` (another loopback address than the slow
// clients'), on its own connection; its status, 0 if nothing came back in 3 s.
int requestFrom(const std::string& source, int port, const std::string& body, const std::string& extraHeaders = {}) {
    try {
        Poco::Net::StreamSocket socket;
        socket.impl()->bind(Poco::Net::SocketAddress(source, 0), true);
        socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), Poco::Timespan(3, 0));
        socket.setReceiveTimeout(Poco::Timespan(3, 0));
        const auto request = "POST /api/chat HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n" +
                             extraHeaders + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        socket.sendBytes(request.data(), static_cast<int>(request.size()));
        std::string answer;
        char buffer[4096];
        for (int n; (n = socket.receiveBytes(buffer, sizeof buffer)) > 0;) answer.append(buffer, static_cast<std::size_t>(n));
        return answer.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(answer.substr(9, 3)) : 0;
    } catch (const Poco::Exception&) {
        return 0;
    }
}

// The status a slow connection was answered with, if any yet (0: none).
int statusOf(const std::string& answer) { return answer.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(answer.substr(9, 3)) : 0; }

} // namespace

class EdgeTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(EdgeTest);
    CPPUNIT_TEST(corsAnswersTheConfiguredOrigins);
    CPPUNIT_TEST(withoutCorsNoOriginIsAnswered);
    CPPUNIT_TEST(slowClientsCannotPinTheThreads);
    CPPUNIT_TEST(aBodyThatTricklesIsCutOff);
    CPPUNIT_TEST(twoThousandSlowClientsDoNotStarveOthers);
    CPPUNIT_TEST(aSlowBackendHoldsNoWorker);
    CPPUNIT_TEST(aRequestWaitingOnItsBackendStillHearsItsClient);
    CPPUNIT_TEST(aBlockingStageHoldsNoLoop);
    CPPUNIT_TEST(forwardedProtoIsBelievedFromTrustedProxiesOnly);
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

    void slowClientsCannotPinTheThreads() {
        // Few threads, so that without the defences 20 slow clients would hold them all.
        OneBackendGateway setup("server.max_threads = 8\nserver.header_timeout_s = 2\nserver.max_connections_per_client = 4\n");
        const int port = setup.gateway.port();
        struct Slow {
            Poco::Net::StreamSocket socket;
            std::string answer;
            bool done = false;
        };
        std::vector<Slow> slow(20);
        for (auto& client : slow) {
            client.socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
            const std::string start = "POST /api/chat HTTP/1.1\r\nHost: x\r\nX-Slow: ";
            client.socket.sendBytes(start.data(), static_cast<int>(start.size()));
            client.socket.setReceiveTimeout(Poco::Timespan(0, 1000));
        }
        // One header byte every 200 ms from each, for up to 8 s, while another
        // address asks for real answers.
        std::thread drip([&] {
            const auto end = std::chrono::steady_clock::now() + 8s;
            while (std::chrono::steady_clock::now() < end) {
                bool any = false;
                for (auto& client : slow) {
                    if (client.done) continue;
                    any = true;
                    try {
                        char buffer[1024];
                        const int n = client.socket.receiveBytes(buffer, sizeof buffer);
                        if (n > 0) client.answer.append(buffer, static_cast<std::size_t>(n));
                        if (n == 0) client.done = true;
                    } catch (const Poco::TimeoutException&) {
                        if (statusOf(client.answer) != 0) continue;  // answered: only read the rest
                        try {
                            client.socket.sendBytes("a", 1);
                        } catch (const Poco::Exception&) {
                            client.done = true;
                        }
                    } catch (const Poco::Exception&) {
                        client.done = true;
                    }
                }
                if (!any) break;
                std::this_thread::sleep_for(200ms);
            }
        });
        // Spread over the first 1.5 s, while the slow ones hold their places.
        int served = 0;
        for (int i = 0; i < 10; ++i) {
            served += requestFrom("127.0.0.2", port, ollamaChat("llama3.2", false)) == 200 ? 1 : 0;
            std::this_thread::sleep_for(150ms);
        }
        drip.join();  // until every slow client was answered, or 8 s
        CPPUNIT_ASSERT_EQUAL(10, served);
        int tooMany = 0, tooSlow = 0;
        for (const auto& client : slow) {
            const int status = statusOf(client.answer);
            CPPUNIT_ASSERT_MESSAGE("[" + client.answer + "]", status == 429 || status == 408);
            (status == 429 ? tooMany : tooSlow)++;
        }
        CPPUNIT_ASSERT_EQUAL(16, tooMany);  // past the 4 places of their address
        CPPUNIT_ASSERT_EQUAL(4, tooSlow);   // the 4 that got in, cut at the head deadline
        const auto cut = std::find_if(slow.begin(), slow.end(), [](const Slow& c) { return statusOf(c.answer) == 408; });
        CPPUNIT_ASSERT_MESSAGE(cut->answer, cut->answer.find("did not arrive within 2 s") != std::string::npos);
        // The slow address's places are back: it is served again.
        CPPUNIT_ASSERT(eventually([&] { return requestFrom("127.0.0.1", port, ollamaChat("llama3.2", false)) == 200; }));
    }

    void aBodyThatTricklesIsCutOff() {
        OneBackendGateway setup("server.body_timeout_s = 1\n");
        Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(setup.gateway.port())));
        const std::string head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 "Content-Length: 100\r\n\r\n{";
        socket.sendBytes(head.data(), static_cast<int>(head.size()));
        socket.setReceiveTimeout(Poco::Timespan(0, 300000));
        std::string answer;
        for (int i = 0; i < 40 && statusOf(answer) == 0; ++i) {  // at most ~12 s: one byte every 300 ms
            try {
                char buffer[4096];
                const int n = socket.receiveBytes(buffer, sizeof buffer);
                if (n <= 0) break;
                answer.append(buffer, static_cast<std::size_t>(n));
            } catch (const Poco::TimeoutException&) {
                socket.sendBytes(" ", 1);
            }
        }
        CPPUNIT_ASSERT_EQUAL_MESSAGE(answer, 408, statusOf(answer));
        CPPUNIT_ASSERT_MESSAGE(answer, answer.find("\"request_timeout\"") != std::string::npos);  // OpenAI's shape
        CPPUNIT_ASSERT_EQUAL(200, httpPost(setup.gateway.port(), "/api/chat", ollamaChat("llama3.2", false)).status);
    }

    void twoThousandSlowClientsDoNotStarveOthers() {
        // 2,000 clients from one address, no cap on its connections, and 8
        // workers. A third stop inside their head, a third inside their
        // body, a third after asking for `100 Continue` (and getting it).
        // When a connection held a thread, the first 8 took every one and
        // the others' requests waited for the deadlines (a minute); now the
        // slow ones wait in the I/O threads and hold none.
        raiseDescriptorLimit();
        OneBackendGateway setup("server.max_threads = 8\nserver.header_timeout_s = 60\nserver.body_timeout_s = 60\n"
                                "server.max_connections_per_client = 0\n");
        const int port = setup.gateway.port();
        const std::string post = "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
        const std::array<std::string, 3> starts{post + "X-Slow: ", post + "Content-Length: 100\r\n\r\n{\"model\":",
                                                post + "Content-Length: 100\r\nExpect: 100-continue\r\n\r\n"};
        std::vector<Poco::Net::StreamSocket> slow(2000);
        for (std::size_t i = 0; i < slow.size(); ++i) {
            slow[i].connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
            const auto& start = starts[i % 3];
            slow[i].sendBytes(start.data(), static_cast<int>(start.size()));
        }
        const auto threads = processStatus(setup.gateway.process().pid(), "Threads");
        int served = 0;
        for (int i = 0; i < 20; ++i) {
            served += requestFrom("127.0.0.2", port, ollamaChat("llama3.2", false)) == 200 ? 1 : 0;
            for (std::size_t k = static_cast<std::size_t>(i); k < slow.size(); k += 20)
                if (k % 3 != 2) slow[k].sendBytes(" ", 1);  // a drip
        }
        CPPUNIT_ASSERT_EQUAL(20, served);
        CPPUNIT_ASSERT_MESSAGE(std::to_string(threads) + " threads with 2,000 slow clients", threads < 100);
        // Each is still waiting for its request to arrive; those that asked were told to go on.
        for (std::size_t i = 0; i < slow.size(); ++i) {
            if (i % 3 == 2) {
                slow[i].setReceiveTimeout(Poco::Timespan(5, 0));
                char buffer[64];
                const int n = slow[i].receiveBytes(buffer, sizeof buffer);
                CPPUNIT_ASSERT_EQUAL(std::string("HTTP/1.1 100 Continue\r\n\r\n"), std::string(buffer, static_cast<std::size_t>(std::max(n, 0))));
            }
            CPPUNIT_ASSERT_EQUAL(0, slow[i].available());
            slow[i].close();
        }
    }

    void aSlowBackendHoldsNoWorker() {
        // A backend that takes seconds to answer (a model loading) and 4
        // workers: 40 requests wait for it at once, each parked while the
        // I/O threads watch its backend (a worker held per wait, as before,
        // let no more than 4 reach it), and all are answered.
        OneBackendGateway setup("server.max_threads = 4\n");
        setup.backend.setRules({{{"delay_first_byte_ms", 3000}, {"times", 40}}});
        const int port = setup.gateway.port();
        const auto body = ollamaChat("llama3.2", false);
        const auto request = "POST /api/chat HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body;
        std::vector<Poco::Net::StreamSocket> clients(40);
        for (auto& client : clients) {
            client.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
            client.sendBytes(request.data(), static_cast<int>(request.size()));
        }
        CPPUNIT_ASSERT(eventually([&] { return setup.backend.stats()["in_flight"].get<int>() == 40; }, std::chrono::seconds(20)));
        for (auto& client : clients) {
            client.setReceiveTimeout(Poco::Timespan(30, 0));
            std::string answer;
            char buffer[4096];
            while (const int n = client.receiveBytes(buffer, sizeof buffer)) answer.append(buffer, static_cast<std::size_t>(n));
            CPPUNIT_ASSERT_MESSAGE(answer.substr(0, 200), answer.rfind("HTTP/1.1 200", 0) == 0);
        }
    }

    void aRequestWaitingOnItsBackendStillHearsItsClient() {
        // While a request waits for its backend's answer, its client's socket
        // is still watched, as for the next request: a next request sent
        // early waits its turn (it is no hang-up), and a hang-up ends the
        // wait at once, well before the backend would answer.
        OneBackendGateway setup;
        const int port = setup.gateway.port();
        const auto body = ollamaChat("llama3.2", false);
        const auto request = [&](const std::string& connection) {
            return "POST /api/chat HTTP/1.1\r\nHost: x\r\nConnection: " + connection +
                   "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        };
        const auto inFlight = [&](int n) {
            return eventually([&] { return setup.backend.stats()["in_flight"].get<int>() == n; });
        };

        setup.backend.setRules({{{"delay_first_byte_ms", 1500}, {"times", 1}}});
        Poco::Net::StreamSocket client(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
        client.setReceiveTimeout(Poco::Timespan(20, 0));
        const auto first = request("keep-alive");
        client.sendBytes(first.data(), static_cast<int>(first.size()));
        CPPUNIT_ASSERT(inFlight(1));
        const auto second = request("close");
        client.sendBytes(second.data(), static_cast<int>(second.size()));
        std::string answers;
        char buffer[4096];
        while (const int n = client.receiveBytes(buffer, sizeof buffer)) answers.append(buffer, static_cast<std::size_t>(n));
        const auto next = answers.find("HTTP/1.1 ", 1);
        CPPUNIT_ASSERT_MESSAGE(answers, answers.rfind("HTTP/1.1 200", 0) == 0 && next != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(answers, answers.compare(next, 12, "HTTP/1.1 200") == 0);

        setup.backend.setRules({{{"delay_first_byte_ms", 60000}, {"times", 1}}});
        {
            Poco::Net::StreamSocket leaving(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
            const auto asked = request("keep-alive");
            leaving.sendBytes(asked.data(), static_cast<int>(asked.size()));
            CPPUNIT_ASSERT(inFlight(1));
        }  // closed
        CPPUNIT_ASSERT(inFlight(0));
        CPPUNIT_ASSERT(setup.backend.stats()["cancelled"].get<int>() >= 1);
    }

    void aBlockingStageHoldsNoLoop() {
        // Two requests whose auth call blocks (and says so: mayBlock) hold
        // both of the 2 stage threads; a request whose call does not block is
        // served meanwhile, on its I/O thread. When every request needed a
        // thread of its own it waited behind the blocked two and timed out.
        Poco::TemporaryFile gate;  // the stage waits until this file exists
        FakeBackend backend("ollama", "gpu-box");
        TestGateway gateway(baseConfig() + "plugins.path = " SLUICE_TEST_PLUGIN_DIR "\n" +
                            "plugins.load = blocking, " SLUICE_PLUGIN_DIR "/router.so, " SLUICE_PLUGIN_DIR "/discovery.so\n" +
                            "pipeline.auth = blocking\nauth.blocking.gate = " + gate.path() +
                            "\nserver.stage_threads = 2\nserver.max_queued = 1\nserver.io_threads = 1\nbackends = gpu\n" + backendConfig("gpu", backend.url()));
        const auto body = ollamaChat("llama3.2", false);
        const auto request = [&](const std::string& extra) {
            return "POST /api/chat HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra +
                   "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        };
        std::vector<Poco::Net::StreamSocket> blocked(2);
        for (auto& client : blocked) {
            client.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(gateway.port())));
            const auto bytes = request("X-Test-Block: 1\r\n");
            client.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
        }
        const auto entered = [&] {
            std::ifstream in(gate.path() + ".entered");
            return static_cast<int>(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
        };
        CPPUNIT_ASSERT(eventually([&] { return entered() == 2; }, std::chrono::seconds(20)));

        const auto free = httpPost(gateway.port(), "/api/chat", body);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(free.body.substr(0, 200), 200, free.status);

        // Both stage threads are held and server.max_queued is 1: of two
        // more calls that may block, one waits in line and the other's
        // request is answered 503 at once, as a request finding no thread is.
        std::vector<Poco::Net::StreamSocket> more(2);
        for (auto& client : more) {
            client.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(gateway.port())));
            const auto bytes = request("X-Test-Block: 1\r\n");
            client.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
        }
        const auto answerOf = [](Poco::Net::StreamSocket& client) {
            client.setReceiveTimeout(Poco::Timespan(30, 0));
            std::string answer;
            char buffer[4096];
            while (const int n = client.receiveBytes(buffer, sizeof buffer)) answer.append(buffer, static_cast<std::size_t>(n));
            return answer;
        };
        // The refused one is answered while the gate is still shut (the
        // 30 s only bounds a failure): by then the other waits in line.
        pollfd ready[2] = {{more[0].impl()->sockfd(), POLLIN, 0}, {more[1].impl()->sockfd(), POLLIN, 0}};
        CPPUNIT_ASSERT(::poll(ready, 2, 30000) > 0);
        const std::size_t refused = ready[0].revents ? 0 : 1;
        const auto busy = answerOf(more[refused]);
        CPPUNIT_ASSERT_MESSAGE(busy.substr(0, 200), busy.rfind("HTTP/1.1 503", 0) == 0);
        CPPUNIT_ASSERT(busy.find("Retry-After: 1") != std::string::npos);

        std::ofstream(gate.path()) << "go\n";
        for (auto& client : blocked) {
            const auto answer = answerOf(client);
            CPPUNIT_ASSERT_MESSAGE(answer.substr(0, 200), answer.rfind("HTTP/1.1 200", 0) == 0);
        }
        const auto queued = answerOf(more[1 - refused]);
        CPPUNIT_ASSERT_MESSAGE(queued.substr(0, 200), queued.rfind("HTTP/1.1 200", 0) == 0);
        Poco::File(gate.path() + ".entered").remove();
    }

    void forwardedProtoIsBelievedFromTrustedProxiesOnly() {
        OneBackendGateway setup("server.trusted_proxies = 127.0.0.2\nlog.format = json\n");
        const int port = setup.gateway.port();
        const auto body = ollamaChat("llama3.2", false);
        CPPUNIT_ASSERT_EQUAL(200, requestFrom("127.0.0.2", port, body, "X-Forwarded-Proto: https\r\nX-Request-ID: via-proxy\r\n"));
        CPPUNIT_ASSERT_EQUAL(200, requestFrom("127.0.0.1", port, body, "X-Forwarded-Proto: https\r\nX-Request-ID: direct\r\n"));
        auto schemeOf = [&](const std::string& id) {
            for (const auto& line : ndjsonLines(setup.gateway.output()))
                if (line.is_object() && line.value("logger", "") == "sluice.access" && line.value("request_id", "") == id)
                    return line.value("scheme", "");
            return std::string("(no access line)");
        };
        CPPUNIT_ASSERT(eventually([&] { return schemeOf("direct") != "(no access line)"; }));
        CPPUNIT_ASSERT_EQUAL(std::string("https"), schemeOf("via-proxy"));
        CPPUNIT_ASSERT_EQUAL(std::string("http"), schemeOf("direct"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(EdgeTest);

} // namespace sluice::test
