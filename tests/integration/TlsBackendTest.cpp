// https backends: the certificate is checked (chain and name) by discovery and
// by the forwarder alike; a private CA is trusted through tls.ca_file; checking
// can be turned off only loudly.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <cppunit/extensions/HelperMacros.h>

#include <Poco/File.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/TemporaryFile.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

class TlsBackendTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TlsBackendTest);
    CPPUNIT_TEST(trustedCertificateServesStreamsAndLists);
    CPPUNIT_TEST(untrustedCertificateIsRefused);
    CPPUNIT_TEST(forwarderChecksTheNameToo);
    CPPUNIT_TEST(verificationOffIsLoud);
    CPPUNIT_TEST(aTlsBackendNeedsNoStageThread);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _directory = std::make_unique<Poco::TemporaryFile>();
        std::filesystem::create_directories(dir());
        makeCertificate("right", "IP:127.0.0.1", "127.0.0.1");
        makeCertificate("wrong", "DNS:other.example", "other.example");
    }

    void tearDown() override { _directory.reset(); }

    void trustedCertificateServesStreamsAndLists() {
        FakeBackend backend = tlsBackend("right");
        TestGateway gateway(config(backend.port(), "backends.secure.tls.ca_file = " + certificate("right") + "\n"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), httpGet(gateway.port(), "/api/tags").json()["models"].size());
        const auto streamed = httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, streamed.status);
        CPPUNIT_ASSERT(ndjsonLines(streamed.body).back()["done"].get<bool>());
        // TLS connections are pooled like plain ones: five requests on one
        // client connection (so on one I/O thread) open at most one. (Each
        // look at the fake's counters is a connection of its own.)
        const int before = backend.stats()["connections"].get<int>();
        HttpClient client(gateway.port());
        for (int i = 0; i < 5; ++i) CPPUNIT_ASSERT_EQUAL(200, client.post("/v1/chat/completions", openAiChat("llama3.2", false)).status);
        CPPUNIT_ASSERT(backend.stats()["connections"].get<int>() - before - 1 <= 1);
    }

    void untrustedCertificateIsRefused() {
        FakeBackend backend = tlsBackend("right");
        TestGateway gateway(config(backend.port(), ""));  // the self-signed CA is not trusted
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), httpGet(gateway.port(), "/api/tags").json()["models"].size());
        CPPUNIT_ASSERT_EQUAL(503, httpGet(gateway.port(), "/readyz").status);
        CPPUNIT_ASSERT_EQUAL(0, backend.stats()["requests"].get<int>());
    }

    void forwarderChecksTheNameToo() {
        auto trusted = std::make_unique<FakeBackend>(tlsBackend("right"));
        const int port = trusted->port();
        // Both certificates are trusted: only the name check can refuse the impostor.
        const auto bundle = dir() + "/bundle.pem";
        CPPUNIT_ASSERT_EQUAL(0, std::system(("cat " + certificate("right") + " " + certificate("wrong") + " > " + bundle).c_str()));
        TestGateway gateway(config(port, "backends.secure.tls.ca_file = " + bundle + "\n"));
        CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false)).status);
        // The same address now presents a certificate for another name, signed by a trusted CA.
        trusted.reset();
        FakeBackend impostor("ollama", "impostor",
                             {"--tls-cert", certificate("wrong"), "--tls-key", key("wrong"), "--port", std::to_string(port)});
        const auto answer = httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(502, answer.status);
        CPPUNIT_ASSERT_EQUAL(0, impostor.stats()["requests"].get<int>());
    }

    void verificationOffIsLoud() {
        FakeBackend backend = tlsBackend("wrong");
        TestGateway gateway(config(backend.port(), "backends.secure.tls.verify = false\n"));
        CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false)).status);
        CPPUNIT_ASSERT(gateway.process().waitForLine(std::regex("INSECURE: backends.secure.tls.verify = false"), std::chrono::seconds(10)));
    }

    void aTlsBackendNeedsNoStageThread() {
        // Both stage threads are held by auth calls that block, and a third
        // waits in line (server.max_queued = 1). A request whose auth does
        // not block still reaches the https backend: the connect, the
        // handshake, the request's records and the answer's are all done on
        // its I/O thread, parking on each wait. Before, each of them hopped
        // to a stage thread (Poco's TLS calls blocked), and with none to be
        // had the request was answered 503.
        Poco::TemporaryFile gate;  // the stage waits until this file exists
        FakeBackend backend = tlsBackend("right");
        TestGateway gateway(config(backend.port(), "backends.secure.tls.ca_file = " + certificate("right") + "\n" +
                                   "plugins.path = " SLUICE_TEST_PLUGIN_DIR "\n"
                                   "plugins.load = blocking, " SLUICE_PLUGIN_DIR "/router.so, " SLUICE_PLUGIN_DIR "/discovery.so\n"
                                   "pipeline.auth = blocking\nauth.blocking.gate = " + gate.path() +
                                   "\nserver.stage_threads = 2\nserver.max_queued = 1\n"));
        const auto body = ollamaChat("llama3.2", false);
        const auto blocked = "POST /api/chat HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Test-Block: 1\r\n"
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        std::vector<Poco::Net::StreamSocket> held(3);
        const auto send = [&](Poco::Net::StreamSocket& client) {
            client.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(gateway.port())));
            client.sendBytes(blocked.data(), static_cast<int>(blocked.size()));
        };
        const auto entered = [&] {
            std::ifstream in(gate.path() + ".entered");
            return static_cast<int>(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
        };
        send(held[0]);
        send(held[1]);
        CPPUNIT_ASSERT(eventually([&] { return entered() == 2; }, std::chrono::seconds(20)));
        send(held[2]);  // waits in line: its call, or this test's next request's, fills the queue
        // Streamed and whole, on a fresh connection and on a pooled one.
        HttpClient client(gateway.port());
        const auto streamed = client.post("/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(streamed.body.substr(0, 200), 200, streamed.status);
        CPPUNIT_ASSERT(ndjsonLines(streamed.body).back()["done"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(200, client.post("/api/chat", body).status);
        CPPUNIT_ASSERT_EQUAL(2, backend.stats()["by_path"].value("/api/chat", 0));
        std::ofstream(gate.path()) << "go\n";
        for (auto& waiting : held) {  // all three served once the gate opens, the queued one too
            waiting.setReceiveTimeout(Poco::Timespan(30, 0));
            std::string answer;
            char buffer[4096];
            while (const int n = waiting.receiveBytes(buffer, sizeof buffer)) answer.append(buffer, static_cast<std::size_t>(n));
            CPPUNIT_ASSERT_MESSAGE(answer.substr(0, 200), answer.rfind("HTTP/1.1 200", 0) == 0);
        }
        Poco::File(gate.path() + ".entered").remove();
    }

private:
    std::string dir() const { return _directory->path(); }
    std::string certificate(const std::string& name) const { return dir() + "/" + name + ".pem"; }
    std::string key(const std::string& name) const { return dir() + "/" + name + "-key.pem"; }

    void makeCertificate(const std::string& name, const std::string& altName, const std::string& commonName) {
        const auto command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout " + key(name) + " -out " +
                             certificate(name) + " -subj /CN=" + commonName + " -addext subjectAltName=" + altName +
                             " >/dev/null 2>&1";
        CPPUNIT_ASSERT_EQUAL_MESSAGE("openssl failed: " + command, 0, std::system(command.c_str()));
    }

    FakeBackend tlsBackend(const std::string& name) {
        return FakeBackend("ollama", "secure-box", {"--tls-cert", certificate(name), "--tls-key", key(name)});
    }

    static std::string config(int port, const std::string& extra) {
        return baseConfig() + "backends = secure\nbackends.secure.url = https://127.0.0.1:" + std::to_string(port) +
               "\nbackends.secure.timeout.connect_ms = 2000\n" + extra;
    }

    std::unique_ptr<Poco::TemporaryFile> _directory;
};

CPPUNIT_TEST_SUITE_REGISTRATION(TlsBackendTest);

} // namespace sluice::test
