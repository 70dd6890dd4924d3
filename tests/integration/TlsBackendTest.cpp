// https backends: the certificate is checked (chain and name) by discovery and
// by the forwarder alike; a private CA is trusted through tls.ca_file; checking
// can be turned off only loudly.

#include <cstdlib>
#include <filesystem>

#include <cppunit/extensions/HelperMacros.h>

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
        HttpClient client(gateway.port());
        for (int i = 0; i < 5; ++i) CPPUNIT_ASSERT_EQUAL(200, client.post("/v1/chat/completions", openAiChat("llama3.2", false)).status);
        // TLS connections are pooled like plain ones.
        CPPUNIT_ASSERT(backend.stats()["connections"].get<int>() <= 4);
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
