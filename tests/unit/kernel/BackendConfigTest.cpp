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
    CPPUNIT_TEST(retryDefaultsWithoutConfig);
    CPPUNIT_TEST(globalRetryAppliesToEveryBackend);
    CPPUNIT_TEST(backendRetryOverridesTheGlobal);
    CPPUNIT_TEST(badRetryValuesAreRefused);
    CPPUNIT_TEST(coldLoadTimeoutNeverBelowFirstByte);
    CPPUNIT_TEST(acceptsPrefillByKind);
    CPPUNIT_TEST(acceptsPrefillByChoice);
    CPPUNIT_TEST(acceptsPrefillAllOrNoneStandsAlone);
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
        // A minute for a loaded model's first byte; five for one that must load first.
        CPPUNIT_ASSERT_EQUAL(std::int64_t{60000}, static_cast<std::int64_t>(gpu.firstByteTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{300000}, static_cast<std::int64_t>(gpu.coldLoadTimeout.count()));
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

    void retryDefaultsWithoutConfig() {
        const auto backends = sluice::kernel::parseBackends(*_config);
        for (const auto& backend : backends) {
            CPPUNIT_ASSERT_EQUAL(1, backend->retry.attempts);
            CPPUNIT_ASSERT_EQUAL(std::int64_t{250}, static_cast<std::int64_t>(backend->retry.backoff.count()));
            CPPUNIT_ASSERT_EQUAL(std::int64_t{5000}, static_cast<std::int64_t>(backend->retry.maxWait.count()));
        }
    }

    void globalRetryAppliesToEveryBackend() {
        _config->setString("retry.attempts", "4");
        _config->setString("retry.backoff_ms", "100");
        _config->setString("retry.max_wait_ms", "2000");
        const auto backends = sluice::kernel::parseBackends(*_config);
        for (const auto& backend : backends) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(backend->name, 4, backend->retry.attempts);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(backend->name, std::int64_t{100}, static_cast<std::int64_t>(backend->retry.backoff.count()));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(backend->name, std::int64_t{2000}, static_cast<std::int64_t>(backend->retry.maxWait.count()));
        }
    }

    void backendRetryOverridesTheGlobal() {
        _config->setString("retry.attempts", "4");
        _config->setString("retry.backoff_ms", "100");
        _config->setString("retry.max_wait_ms", "2000");
        _config->setString("backends.cloud.retry.attempts", "0");
        _config->setString("backends.cloud.retry.max_wait_ms", "9000");
        _config->setString("backends.gpu.retry.backoff_ms", "40");
        const auto backends = sluice::kernel::parseBackends(*_config);
        const auto& gpu = backends[0]->retry;
        const auto& cloud = backends[1]->retry;
        // Each field on its own: what the backend does not set comes from the global.
        CPPUNIT_ASSERT_EQUAL(4, gpu.attempts);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{40}, static_cast<std::int64_t>(gpu.backoff.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{2000}, static_cast<std::int64_t>(gpu.maxWait.count()));
        CPPUNIT_ASSERT_EQUAL(0, cloud.attempts);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{100}, static_cast<std::int64_t>(cloud.backoff.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{9000}, static_cast<std::int64_t>(cloud.maxWait.count()));
        // Without a global, the built-in defaults are what a backend overrides.
        _config->remove("retry.attempts");
        _config->remove("retry.backoff_ms");
        _config->remove("retry.max_wait_ms");
        const auto alone = sluice::kernel::parseBackends(*_config);
        CPPUNIT_ASSERT_EQUAL(1, alone[0]->retry.attempts);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{40}, static_cast<std::int64_t>(alone[0]->retry.backoff.count()));
        CPPUNIT_ASSERT_EQUAL(0, alone[1]->retry.attempts);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{250}, static_cast<std::int64_t>(alone[1]->retry.backoff.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{9000}, static_cast<std::int64_t>(alone[1]->retry.maxWait.count()));
    }

    void badRetryValuesAreRefused() {
        _config->setString("retry.attempts", "11");
        expectError("retry.attempts", "more than 10 attempts");
        _config->setString("retry.attempts", "-1");
        expectError("retry.attempts", "negative attempts");
        _config->setString("retry.attempts", "2");
        _config->setString("backends.cloud.retry.backoff_ms", "soon");
        expectError("backends.cloud.retry.backoff_ms", "a word for a back-off");
        _config->setString("backends.cloud.retry.backoff_ms", "100");
        _config->setString("backends.gpu.retry.max_wait_ms", "0");
        expectError("backends.gpu.retry.max_wait_ms", "a zero max wait");
    }

    void coldLoadTimeoutNeverBelowFirstByte() {
        _config->setString("backends.gpu.timeout.cold_load_ms", "600000");
        auto backends = sluice::kernel::parseBackends(*_config);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{600000}, static_cast<std::int64_t>(backends[0]->coldLoadTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{60000}, static_cast<std::int64_t>(backends[0]->firstByteTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{300000}, static_cast<std::int64_t>(backends[1]->coldLoadTimeout.count()));
        // Shorter than the first-byte wait: raised to it, set or by default.
        _config->setString("backends.gpu.timeout.cold_load_ms", "1000");
        _config->setString("backends.cloud.timeout.first_byte_ms", "400000");
        backends = sluice::kernel::parseBackends(*_config);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{60000}, static_cast<std::int64_t>(backends[0]->coldLoadTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{400000}, static_cast<std::int64_t>(backends[1]->firstByteTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{400000}, static_cast<std::int64_t>(backends[1]->coldLoadTimeout.count()));
        _config->setString("backends.gpu.timeout.cold_load_ms", "later");
        expectError("backends.gpu.timeout.cold_load_ms", "a word for a time-out");
    }

    void acceptsPrefillByKind() {
        _config->setString("backends", "gpu, cloud, claude");
        _config->setString("backends.claude.kind", "anthropic");
        _config->setString("backends.claude.url", "https://api.anthropic.com");
        const auto backends = sluice::kernel::parseBackends(*_config);
        // Ollama's chat continues any model's prefill; an OpenAI-compatible one, none unless told.
        CPPUNIT_ASSERT(backends[0]->prefillAll);
        CPPUNIT_ASSERT(backends[0]->acceptsPrefill("llama3.2"));
        CPPUNIT_ASSERT(backends[0]->acceptsPrefill("qwen2.5:7b"));
        CPPUNIT_ASSERT(!backends[1]->prefillAll);
        CPPUNIT_ASSERT(backends[1]->prefillModels.empty());
        CPPUNIT_ASSERT(!backends[1]->acceptsPrefill("gpt-4o"));
        CPPUNIT_ASSERT(!backends[2]->acceptsPrefill("claude-sonnet-4"));
    }

    void acceptsPrefillByChoice() {
        _config->setString("backends.gpu.accepts_prefill", "none");
        _config->setString("backends.cloud.accepts_prefill", "llama3.2, qwen2.5:7b");
        auto backends = sluice::kernel::parseBackends(*_config);
        CPPUNIT_ASSERT(!backends[0]->prefillAll);
        CPPUNIT_ASSERT(!backends[0]->acceptsPrefill("llama3.2"));
        const auto& cloud = *backends[1];
        CPPUNIT_ASSERT(!cloud.prefillAll);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, cloud.prefillModels.size());
        CPPUNIT_ASSERT(cloud.acceptsPrefill("llama3.2"));
        // One model, as Ollama and an OpenAI-compatible server name it.
        CPPUNIT_ASSERT(cloud.acceptsPrefill("llama3.2:latest"));
        CPPUNIT_ASSERT(cloud.acceptsPrefill("qwen2.5:7b"));
        CPPUNIT_ASSERT(!cloud.acceptsPrefill("qwen2.5"));
        CPPUNIT_ASSERT(!cloud.acceptsPrefill("llama3.1"));
        CPPUNIT_ASSERT(!cloud.acceptsPrefill("llama3.2:1b"));
        // Listed with :latest, asked for bare.
        _config->setString("backends.cloud.accepts_prefill", "mistral:latest");
        backends = sluice::kernel::parseBackends(*_config);
        CPPUNIT_ASSERT(backends[1]->acceptsPrefill("mistral"));
        // "all" on a provider, in any case.
        _config->setString("backends.cloud.accepts_prefill", "ALL");
        backends = sluice::kernel::parseBackends(*_config);
        CPPUNIT_ASSERT(backends[1]->prefillAll);
        CPPUNIT_ASSERT(backends[1]->acceptsPrefill("gpt-4o"));
    }

    void acceptsPrefillAllOrNoneStandsAlone() {
        _config->setString("backends.cloud.accepts_prefill", "all, x");
        expectError("backends.cloud.accepts_prefill", "all beside a model");
        _config->setString("backends.cloud.accepts_prefill", "x, none");
        expectError("backends.cloud.accepts_prefill", "none beside a model");
        _config->setString("backends.cloud.accepts_prefill", "x");
        _config->setString("backends.gpu.accepts_prefill", "llama3.2, All");
        expectError("backends.gpu.accepts_prefill", "All beside a model");
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
