// The gateway serving HTTPS itself (server.tls.cert / server.tls.key): whole
// answers and streams over TLS 1.2+, plain HTTP and TLS 1.1 refused on that
// port, and certificate files that do not load stopping the start with a
// message that names the key.

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <cppunit/extensions/HelperMacros.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/StreamSocket.h>

#include "ChildProcess.h"
#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "ScratchDir.h"
#include "TestHelpers.h"

namespace sluice::test {

class HttpsFrontTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(HttpsFrontTest);
    CPPUNIT_TEST(servesAnswersAndStreamsOverTls);
    CPPUNIT_TEST(refusesPlainHttpAndOldTls);
    CPPUNIT_TEST(slowTlsClientsHoldNoWorker);
    CPPUNIT_TEST(tlsClientsThatStopReadingHoldNoWorker);
    CPPUNIT_TEST(unusableCertificateStopsTheStart);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _scratch = std::make_unique<ScratchDir>("sluice-https-it");
        const auto command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout " + key() + " -out " + cert() +
                             " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null";
        CPPUNIT_ASSERT_EQUAL_MESSAGE(command, 0, std::system(command.c_str()));
        _backend = std::make_unique<FakeBackend>("ollama", "gpu-box");
    }
    void tearDown() override {
        _backend.reset();
        _scratch.reset();
    }

    std::string cert() const { return (_scratch->path / "cert.pem").string(); }
    std::string key() const { return (_scratch->path / "key.pem").string(); }
    std::string config(const std::string& tls) const {
        return baseConfig() + "backends = gpu\n" + backendConfig("gpu", _backend->url()) + tls;
    }
    std::string tlsKeys() const { return "server.tls.cert = " + cert() + "\nserver.tls.key = " + key() + "\n"; }

    void servesAnswersAndStreamsOverTls() {
        TestGateway gateway(config(tlsKeys()));
        CPPUNIT_ASSERT(gateway.output().find("listening on https://") != std::string::npos);
        HttpClient client(gateway.port(), std::chrono::seconds(30), true);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), client.get("/api/tags").json()["models"].size());
        const auto streamed = client.post("/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, streamed.status);
        CPPUNIT_ASSERT(ndjsonLines(streamed.body).size() > 2);
        CPPUNIT_ASSERT(ndjsonLines(streamed.body).back()["done"].get<bool>());
        const auto sse = client.post("/v1/chat/completions", openAiChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(std::string("[DONE]"), sseData(sse.body).back());
        // sluicectl speaks HTTPS to it, checking the certificate.
        const auto url = "https://127.0.0.1:" + std::to_string(gateway.port());
        ChildProcess trusted(SLUICE_BIN_DIR "/sluicectl", {"health", "--url", url, "--ca-file", cert()});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(trusted.output(), 0, trusted.waitForExit(std::chrono::seconds(30)).value_or(-1));
        CPPUNIT_ASSERT_MESSAGE(trusted.output(), trusted.output().find("config_generation") != std::string::npos);
        ChildProcess untrusted(SLUICE_BIN_DIR "/sluicectl", {"health", "--url", url});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(untrusted.output(), 1, untrusted.waitForExit(std::chrono::seconds(30)).value_or(-1));
    }

    void refusesPlainHttpAndOldTls() {
        TestGateway gateway(config(tlsKeys()));
        const int port = gateway.port();
        // Plain HTTP gets no HTTP answer.
        const auto plain = rawExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", std::chrono::seconds(3));
        CPPUNIT_ASSERT_MESSAGE(plain, plain.find("HTTP/1.1 200") == std::string::npos);
        auto handshake = [&](const std::string& version) {
            // SECLEVEL=0 lets the client offer old versions; whether they work is the server's call.
            const auto command = "echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " " + version +
                                 " -cipher 'DEFAULT:@SECLEVEL=0' >/dev/null 2>&1";
            return std::system(command.c_str()) == 0;
        };
        CPPUNIT_ASSERT(handshake("-tls1_2"));
        CPPUNIT_ASSERT(handshake("-tls1_3"));
        CPPUNIT_ASSERT(!handshake("-tls1_1"));
        CPPUNIT_ASSERT(!handshake("-tls1"));
        // It still serves after all that.
        CPPUNIT_ASSERT_EQUAL(200, HttpClient(port, std::chrono::seconds(10), true).get("/healthz").status);
    }

    void slowTlsClientsHoldNoWorker() {
        // Two workers, and 40 TLS clients that stall: half before their
        // handshake, half inside their request head. The I/O threads read
        // TLS themselves, so they hold no worker, and other clients are
        // served at once, two requests each on one kept-alive connection.
        // Before, a TLS connection went to a worker at its first byte and
        // the first two slow ones held both for the head's deadline (60 s).
        TestGateway gateway(config(tlsKeys() + "server.max_threads = 2\nserver.header_timeout_s = 60\n"
                                                 "server.max_connections_per_client = 0\n"));
        const Poco::Net::SocketAddress address("127.0.0.1", static_cast<Poco::UInt16>(gateway.port()));
        std::vector<Poco::Net::StreamSocket> silent(20);
        for (auto& client : silent) {
            client.connect(address);
            client.sendBytes("\x16\x03", 2);  // the start of a TLS record, and no more
        }
        Poco::Net::Context::Ptr context(new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_NONE));
        std::vector<Poco::Net::SecureStreamSocket> halfway;
        const std::string partial = "POST /api/chat HTTP/1.1\r\nHost: x\r\nX-Slow: ";
        for (int i = 0; i < 20; ++i) {
            halfway.emplace_back(address, context);
            halfway.back().sendBytes(partial.data(), static_cast<int>(partial.size()));
        }
        for (int i = 0; i < 3; ++i) {
            HttpClient client(gateway.port(), std::chrono::seconds(10), true);
            CPPUNIT_ASSERT_EQUAL(200, client.post("/api/chat", ollamaChat("llama3.2", false)).status);
            CPPUNIT_ASSERT_EQUAL(200, client.get("/api/tags").status);
        }
        for (auto& client : halfway) CPPUNIT_ASSERT_EQUAL(0, client.available());  // still waiting for their heads
    }

    void tlsClientsThatStopReadingHoldNoWorker() {
        // Two stage threads, and four TLS clients that stop reading long
        // streams. Their requests are served on the I/O thread, whose writes
        // park once the socket is full, so another client is still served.
        // Before, a TLS request went to a worker, whose blocking write held
        // it until server.write_timeout_s: the next client got 503.
        _backend->setRules(nlohmann::json::array({{{"path", "/api/chat"}, {"chunks", 300000}, {"times", 4}}}));
        TestGateway gateway(config(tlsKeys() + "server.max_threads = 2\nserver.max_queued = 1\nserver.write_timeout_s = 120\n"
                                                 "server.max_connections_per_client = 0\n"));
        const Poco::Net::SocketAddress address("127.0.0.1", static_cast<Poco::UInt16>(gateway.port()));
        Poco::Net::Context::Ptr context(new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, "", Poco::Net::Context::VERIFY_NONE));
        const auto body = ollamaChat("llama3.2", true);
        const auto request = "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        std::vector<Poco::Net::SecureStreamSocket> stalled;
        for (int i = 0; i < 4; ++i) {
            stalled.emplace_back(address, context);
            stalled.back().setReceiveBufferSize(4096);
            stalled.back().sendBytes(request.data(), static_cast<int>(request.size()));
        }
        // Each has its stream under way, and is stuck on a full socket.
        CPPUNIT_ASSERT(eventually([&] { return _backend->stats()["in_flight"].get<int>() == 4; }, std::chrono::seconds(30)));
        HttpClient client(gateway.port(), std::chrono::seconds(30), true);
        CPPUNIT_ASSERT_EQUAL(200, client.post("/api/chat", ollamaChat("llama3.2", false)).status);
        CPPUNIT_ASSERT_EQUAL(200, client.get("/api/tags").status);
    }

    void unusableCertificateStopsTheStart() {
        auto missing = startExpectingFailure(config("server.tls.cert = /nonexistent/cert.pem\nserver.tls.key = " + key() + "\n"));
        CPPUNIT_ASSERT_EQUAL(78, missing.exitCode);
        CPPUNIT_ASSERT_MESSAGE(missing.output, missing.output.find("server.tls.cert") != std::string::npos);
        auto alone = startExpectingFailure(config("server.tls.cert = " + cert() + "\n"));
        CPPUNIT_ASSERT_EQUAL(78, alone.exitCode);
        CPPUNIT_ASSERT_MESSAGE(alone.output, alone.output.find("go together") != std::string::npos);
        // A key that is not the certificate's.
        const auto other = (_scratch->path / "other.pem").string();
        CPPUNIT_ASSERT_EQUAL(0, std::system(("openssl genrsa -out " + other + " 2048 2>/dev/null").c_str()));
        const auto mismatched = config("server.tls.cert = " + cert() + "\nserver.tls.key = " + other + "\n");
        auto mismatch = startExpectingFailure(mismatched);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(mismatch.output, 78, mismatch.exitCode);
        CPPUNIT_ASSERT_MESSAGE(mismatch.output, mismatch.output.find("is not the private key") != std::string::npos);
        // sluicectl check-config (the unit's ExecStartPre) finds it too.
        const auto file = (_scratch->path / "mismatched.properties").string();
        std::ofstream(file) << mismatched;
        ChildProcess check(SLUICE_BIN_DIR "/sluicectl", {"check-config", "--config", file});
        CPPUNIT_ASSERT_EQUAL(1, check.waitForExit(std::chrono::seconds(30)).value_or(-1));
        CPPUNIT_ASSERT_MESSAGE(check.output(), check.output().find("server.tls.key") != std::string::npos);
    }

private:
    std::unique_ptr<ScratchDir> _scratch;
    std::unique_ptr<FakeBackend> _backend;
};

CPPUNIT_TEST_SUITE_REGISTRATION(HttpsFrontTest);

} // namespace sluice::test
