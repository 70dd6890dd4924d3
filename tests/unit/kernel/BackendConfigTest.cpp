// parseBackends: the backend list from config, every bad value refused with its key.
#include <cppunit/extensions/HelperMacros.h>

#include <functional>

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include "BackendConfig.h"
#include "sluice/ConfigError.h"

namespace {

const std::string kToken = "tok-SECRET-4711";

class BackendConfigTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(BackendConfigTest);
    CPPUNIT_TEST(parsesTwoBackendsInPriorityOrder);
    CPPUNIT_TEST(appliesDefaults);
    CPPUNIT_TEST(readsExplicitValues);
    CPPUNIT_TEST(badUrlNamesUrlKey);
    CPPUNIT_TEST(ftpSchemeIsRefused);
    CPPUNIT_TEST(urlWithoutHostIsRefused);
    CPPUNIT_TEST(unknownKindIsRefused);
    CPPUNIT_TEST(nonNumberTimeoutIsRefused);
    CPPUNIT_TEST(badHeaderNameIsRefused);
    CPPUNIT_TEST(duplicateNameIsRefused);
    CPPUNIT_TEST(invalidNameIsRefused);
    CPPUNIT_TEST(emptyListIsRefused);
    CPPUNIT_TEST(authHeaderValueByHeader);
    CPPUNIT_TEST(controlCharactersInHeaderValuesAreRefused);
    CPPUNIT_TEST(nativeApisByKindAndByChoice);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _config = new Poco::Util::MapConfiguration;
        _config->setString("backends", "gpu, cloud");
        _config->setString("backends.gpu.url", "http://10.0.0.5:11434/");
        _config->setString("backends.gpu.auth.token", kToken);
        _config->setString("backends.cloud.kind", "openai");
        _config->setString("backends.cloud.url", "https://api.example.com/v1/");
        _config->setString("backends.cloud.auth.token", kToken);
    }

    void parsesTwoBackendsInPriorityOrder() {
        const auto backends = sluice::kernel::parseBackends(*_config);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, backends.size());
        const auto& gpu = *backends[0];
        const auto& cloud = *backends[1];
        CPPUNIT_ASSERT_EQUAL(std::string("gpu"), gpu.name);
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, gpu.priority);
        CPPUNIT_ASSERT(gpu.kind == sluice::BackendKind::Ollama);
        CPPUNIT_ASSERT_EQUAL(std::string("http"), gpu.scheme);
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.5"), gpu.host);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t{11434}, gpu.port);
        CPPUNIT_ASSERT_EQUAL(std::string(""), gpu.basePath);

        CPPUNIT_ASSERT_EQUAL(std::string("cloud"), cloud.name);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cloud.priority);
        CPPUNIT_ASSERT(cloud.kind == sluice::BackendKind::OpenAI);
        CPPUNIT_ASSERT_EQUAL(std::string("https"), cloud.scheme);
        CPPUNIT_ASSERT_EQUAL(std::string("api.example.com"), cloud.host);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t{443}, cloud.port);
        CPPUNIT_ASSERT_EQUAL(std::string("/v1"), cloud.basePath);
        CPPUNIT_ASSERT_EQUAL(kToken, cloud.authToken.reveal());
    }

    void appliesDefaults() {
        const auto backends = sluice::kernel::parseBackends(*_config);
        const auto& gpu = *backends[0];
        CPPUNIT_ASSERT_EQUAL(std::string("Authorization"), gpu.authHeader);
        CPPUNIT_ASSERT_EQUAL(std::string("Bearer"), gpu.authScheme);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{5000}, static_cast<std::int64_t>(gpu.connectTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{300000}, static_cast<std::int64_t>(gpu.firstByteTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{30000}, static_cast<std::int64_t>(gpu.idleTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(1, gpu.weight);
        CPPUNIT_ASSERT_EQUAL(64, gpu.maxConnections);
    }

    void readsExplicitValues() {
        _config->setString("backends.gpu.kind", "OLLAMA");
        _config->setString("backends.gpu.timeout.connect_ms", "250");
        _config->setString("backends.gpu.timeout.first_byte_ms", "1000");
        _config->setString("backends.gpu.timeout.idle_ms", "2000");
        _config->setString("backends.gpu.weight", "5");
        _config->setString("backends.gpu.max_connections", "8");
        // The list held, not a temporary: a reference into it would dangle.
        const auto backends = sluice::kernel::parseBackends(*_config);
        const auto& gpu = *backends[0];
        CPPUNIT_ASSERT(gpu.kind == sluice::BackendKind::Ollama);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{250}, static_cast<std::int64_t>(gpu.connectTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{1000}, static_cast<std::int64_t>(gpu.firstByteTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{2000}, static_cast<std::int64_t>(gpu.idleTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(5, gpu.weight);
        CPPUNIT_ASSERT_EQUAL(8, gpu.maxConnections);
    }

    void badUrlNamesUrlKey() {
        for (const char* url : {"not a url", "localhost:11434", "http://[::1"}) {
            _config->setString("backends.gpu.url", url);
            expectError("backends.gpu.url", url);
        }
        _config->setString("backends.gpu.url", "http://host:11434/?x=1");
        expectError("backends.gpu.url", "query");
    }

    void ftpSchemeIsRefused() {
        _config->setString("backends.cloud.url", "ftp://files.example.com/");
        expectError("backends.cloud.url", "ftp");
        // A token pasted into the URL must not leak through the error either.
        _config->setString("backends.cloud.url", "ftp://user:" + kToken + "@files.example.com/");
        expectError("backends.cloud.url", "ftp with credentials");
    }

    void urlWithoutHostIsRefused() {
        _config->setString("backends.gpu.url", "http:///path");
        expectError("backends.gpu.url", "no host");
        _config->remove("backends.gpu.url");
        expectError("backends.gpu.url", "missing");
    }

    void unknownKindIsRefused() {
        _config->setString("backends.cloud.kind", "vllm");
        expectError("backends.cloud.kind", "vllm");
    }

    void nonNumberTimeoutIsRefused() {
        _config->setString("backends.gpu.timeout.connect_ms", "fast");
        expectError("backends.gpu.timeout.connect_ms", "fast");
        _config->setString("backends.gpu.timeout.connect_ms", "5000");
        _config->setString("backends.cloud.timeout.idle_ms", "0");
        expectError("backends.cloud.timeout.idle_ms", "zero");
    }

    void badHeaderNameIsRefused() {
        _config->setString("backends.cloud.auth.header", "x-api key:");
        expectError("backends.cloud.auth.header", "header");
    }

    void duplicateNameIsRefused() {
        _config->setString("backends", "gpu, cloud, gpu");
        expectError("backends", "duplicate");
    }

    void invalidNameIsRefused() {
        _config->setString("backends", "gpu, bad.name");
        expectError("backends", "bad.name");
    }

    void emptyListIsRefused() {
        _config->setString("backends", " , ");
        expectError("backends", "empty");
        _config->remove("backends");
        expectError("backends", "missing");
    }

    void controlCharactersInHeaderValuesAreRefused() {
        // A token with a line end would add header lines to every upstream
        // request; a CRLF-edited env file or a "\r\n" escape makes one.
        for (const std::string& token : std::vector<std::string>{"sk-abc\r\nX-Injected: 1", "sk-\rabc", std::string("sk-\0abc", 7), "sk-\x7f"}) {
            _config->setString("backends.gpu.auth.token", token);
            expectError("backends.gpu.auth.token", "control character");
        }
        _config->setString("backends.gpu.auth.token", "sk-abc");
        _config->setString("backends.gpu.auth.scheme", "Bearer\r\nX: 1");
        expectError("backends.gpu.auth.scheme", "control character");
        _config->setString("backends.gpu.auth.scheme", "Bearer x");
        expectError("backends.gpu.auth.scheme", "scheme");
    }

    void authHeaderValueByHeader() {
        _config->setString("backends.cloud.auth.header", "x-api-key");
        auto backends = sluice::kernel::parseBackends(*_config);
        CPPUNIT_ASSERT_EQUAL("Bearer " + kToken, backends[0]->authHeaderValue());
        CPPUNIT_ASSERT_EQUAL(kToken, backends[1]->authHeaderValue());

        _config->setString("backends.gpu.auth.header", "authorization");
        _config->setString("backends.gpu.auth.scheme", "Token");
        _config->remove("backends.cloud.auth.token");
        backends = sluice::kernel::parseBackends(*_config);
        CPPUNIT_ASSERT_EQUAL("Token " + kToken, backends[0]->authHeaderValue());
        CPPUNIT_ASSERT_EQUAL(std::string(), backends[1]->authHeaderValue());
    }

private:
    // parseBackends must throw a ConfigError for `key`, and its message must not carry the token.
    void nativeApisByKindAndByChoice() {
        using sluice::NativeApi;
        _config->setString("backends", "gpu, cloud, claude");
        _config->setString("backends.claude.kind", "anthropic");
        _config->setString("backends.claude.url", "https://api.anthropic.com");
        auto backends = sluice::kernel::parseBackends(*_config);
        // Ollama serves both agents' APIs; a plain provider neither; Anthropic's API Messages.
        CPPUNIT_ASSERT(backends[0]->speaks(NativeApi::AnthropicMessages) && backends[0]->speaks(NativeApi::OpenAIResponses));
        CPPUNIT_ASSERT(!backends[1]->speaks(NativeApi::AnthropicMessages) && !backends[1]->speaks(NativeApi::OpenAIResponses));
        CPPUNIT_ASSERT(backends[2]->speaks(NativeApi::AnthropicMessages) && !backends[2]->speaks(NativeApi::OpenAIResponses));
        CPPUNIT_ASSERT_EQUAL(std::string("x-api-key"), backends[2]->authHeader);  // Anthropic's key header
        _config->setString("backends.gpu.native_apis", "none");
        _config->setString("backends.cloud.native_apis", "responses");
        backends = sluice::kernel::parseBackends(*_config);
        CPPUNIT_ASSERT_EQUAL(0u, backends[0]->nativeApis);
        CPPUNIT_ASSERT(backends[1]->speaks(NativeApi::OpenAIResponses) && !backends[1]->speaks(NativeApi::AnthropicMessages));
        _config->setString("backends.cloud.native_apis", "messages, chat");
        expectError("backends.cloud.native_apis", "an unknown API");
        _config->setString("backends.cloud.native_apis", "");
        _config->setString("backends.claude.native_apis", "messages, responses");
        expectError("backends.claude.native_apis", "responses on Anthropic's API");
    }

    void expectError(const std::string& key, const std::string& what) {
        try {
            sluice::kernel::parseBackends(*_config);
        } catch (const sluice::ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, key, e.key());
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find(kToken) == std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("SECRET") == std::string::npos);
            return;
        }
        CPPUNIT_FAIL("no ConfigError for " + what);
    }

    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
};

CPPUNIT_TEST_SUITE_REGISTRATION(BackendConfigTest);

} // namespace
