// AliasConfig: aliases.NAME.chain / .description / .retry.* / .fallback_on /
// .continue_streams and aliases.default, validated at build.
#include <cppunit/extensions/HelperMacros.h>

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include "AliasConfig.h"
#include "sluice/ConfigError.h"

namespace {

sluice::BackendList backends() {
    sluice::BackendList list;
    for (const char* name : {"local", "groq", "openrouter"}) {
        auto backend = std::make_shared<sluice::Backend>();
        backend->name = name;
        list.push_back(backend);
    }
    return list;
}

class AliasConfigTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AliasConfigTest);
    CPPUNIT_TEST(chainOfPairsAndBareModels);
    CPPUNIT_TEST(modelWithSlashIsBareUnlessItNamesABackend);
    CPPUNIT_TEST(defaultNamesTheFallback);
    CPPUNIT_TEST(noAliasesIsAnEmptyTable);
    CPPUNIT_TEST(badAliasesAreRefusedWithTheirKey);
    CPPUNIT_TEST(failoverSettingsDefaultToOff);
    CPPUNIT_TEST(retryOverridesOnlyWhatIsSet);
    CPPUNIT_TEST(fallbackOnNamesErrorClasses);
    CPPUNIT_TEST(continueStreamsIsAFlag);
    CPPUNIT_TEST(badFailoverSettingsAreRefusedWithTheirKey);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { _config = new Poco::Util::MapConfiguration; }

    sluice::AliasTable parse() { return sluice::kernel::parseAliases(*_config, backends()); }

    void chainOfPairsAndBareModels() {
        _config->setString("aliases.team/fast.chain", "local/gemma3:12b, groq/llama-3.1-70b-versatile, qwen2.5");
        _config->setString("aliases.team/fast.description", "Fast answers");
        const auto table = parse();
        const auto* alias = table.find("team/fast");
        CPPUNIT_ASSERT(alias != nullptr);
        CPPUNIT_ASSERT_EQUAL(std::string("Fast answers"), alias->description);
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, alias->chain.size());
        CPPUNIT_ASSERT_EQUAL(std::string("local"), alias->chain[0].backend);
        CPPUNIT_ASSERT_EQUAL(std::string("gemma3:12b"), alias->chain[0].model);
        CPPUNIT_ASSERT_EQUAL(std::string("groq/llama-3.1-70b-versatile"), alias->chain[1].label());
        CPPUNIT_ASSERT(alias->chain[2].backend.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("qwen2.5"), alias->chain[2].model);
        CPPUNIT_ASSERT(table.find("team") == nullptr);
    }

    void modelWithSlashIsBareUnlessItNamesABackend() {
        _config->setString("aliases.big.chain", "openrouter/meta-llama/llama-3.1-70b, meta-llama/llama-3.1-8b");
        const auto table = parse();
        const auto& chain = table.find("big")->chain;
        CPPUNIT_ASSERT_EQUAL(std::string("openrouter"), chain[0].backend);
        CPPUNIT_ASSERT_EQUAL(std::string("meta-llama/llama-3.1-70b"), chain[0].model);
        CPPUNIT_ASSERT(chain[1].backend.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("meta-llama/llama-3.1-8b"), chain[1].model);
    }

    void defaultNamesTheFallback() {
        _config->setString("aliases.chat.chain", "llama3.2");
        _config->setString("aliases.default", "chat");
        const auto table = parse();
        CPPUNIT_ASSERT_EQUAL(std::string("chat"), table.fallback());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, table.all().size());
    }

    void noAliasesIsAnEmptyTable() {
        const auto table = parse();
        CPPUNIT_ASSERT(table.all().empty());
        CPPUNIT_ASSERT(table.fallback().empty());
    }

    void badAliasesAreRefusedWithTheirKey() {
        expectRefused({{"aliases.x.chain", ""}}, "aliases.x.chain");
        expectRefused({{"aliases.x.description", "no chain"}}, "aliases.x.chain");
        expectRefused({{"aliases.x.chian", "llama3.2"}, {"aliases.x.chain", "llama3.2"}}, "aliases.x.chian");
        expectRefused({{"aliases.x.chain", "local/"}}, "aliases.x.chain");
        expectRefused({{"aliases.x.chain", "x"}}, "aliases.x.chain");
        expectRefused({{"aliases.default.chain", "llama3.2"}}, "aliases.default");
        expectRefused({{"aliases.a b.chain", "llama3.2"}}, "aliases.a b");
        expectRefused({{"aliases.fast:latest.chain", "llama3.2"}}, "aliases.fast:latest");
    }

    void failoverSettingsDefaultToOff() {
        _config->setString("aliases.chat.chain", "llama3.2");
        const auto table = parse();
        const auto* alias = table.find("chat");
        CPPUNIT_ASSERT(alias != nullptr);
        CPPUNIT_ASSERT(!alias->retry.attempts && !alias->retry.backoff && !alias->retry.maxWait);
        CPPUNIT_ASSERT_EQUAL(0u, alias->fallbackOn);
        CPPUNIT_ASSERT(!alias->fallsBackOn(sluice::FallbackOn::ContextLength));
        CPPUNIT_ASSERT(!alias->fallsBackOn(sluice::FallbackOn::ContentFilter));
        CPPUNIT_ASSERT(!alias->continueStreams);
        // No override: the backend's policy as it is.
        const auto policy = alias->retry.over(backendPolicy());
        CPPUNIT_ASSERT_EQUAL(3, policy.attempts);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{500}, static_cast<std::int64_t>(policy.backoff.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{9000}, static_cast<std::int64_t>(policy.maxWait.count()));
    }

    void retryOverridesOnlyWhatIsSet() {
        _config->setString("aliases.chat.chain", "llama3.2");
        _config->setString("aliases.chat.retry.attempts", "0");
        _config->setString("aliases.chat.retry.max_wait_ms", "100");
        _config->setString("aliases.slow.chain", "local/qwen2.5");
        _config->setString("aliases.slow.retry.backoff_ms", "2000");
        const auto table = parse();
        const auto& chat = table.find("chat")->retry;
        CPPUNIT_ASSERT(chat.attempts && *chat.attempts == 0);
        CPPUNIT_ASSERT(!chat.backoff);
        CPPUNIT_ASSERT(chat.maxWait && chat.maxWait->count() == 100);
        auto policy = chat.over(backendPolicy());
        CPPUNIT_ASSERT_EQUAL(0, policy.attempts);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{500}, static_cast<std::int64_t>(policy.backoff.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{100}, static_cast<std::int64_t>(policy.maxWait.count()));

        const auto& slow = table.find("slow")->retry;
        CPPUNIT_ASSERT(!slow.attempts && !slow.maxWait);
        policy = slow.over(backendPolicy());
        CPPUNIT_ASSERT_EQUAL(3, policy.attempts);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{2000}, static_cast<std::int64_t>(policy.backoff.count()));
        CPPUNIT_ASSERT_EQUAL(std::int64_t{9000}, static_cast<std::int64_t>(policy.maxWait.count()));
    }

    void fallbackOnNamesErrorClasses() {
        using sluice::FallbackOn;
        _config->setString("aliases.both.chain", "llama3.2");
        _config->setString("aliases.both.fallback_on", "context_length, content_filter");
        _config->setString("aliases.long.chain", "llama3.2");
        _config->setString("aliases.long.fallback_on", "Context_Length");
        _config->setString("aliases.safe.chain", "llama3.2");
        _config->setString("aliases.safe.fallback_on", "content_filter");
        _config->setString("aliases.off.chain", "llama3.2");
        _config->setString("aliases.off.fallback_on", "none");
        const auto table = parse();
        const auto* both = table.find("both");
        CPPUNIT_ASSERT_EQUAL(static_cast<unsigned>(FallbackOn::ContextLength) | static_cast<unsigned>(FallbackOn::ContentFilter),
                             both->fallbackOn);
        CPPUNIT_ASSERT(both->fallsBackOn(FallbackOn::ContextLength) && both->fallsBackOn(FallbackOn::ContentFilter));
        const auto* longer = table.find("long");
        CPPUNIT_ASSERT(longer->fallsBackOn(FallbackOn::ContextLength) && !longer->fallsBackOn(FallbackOn::ContentFilter));
        const auto* safe = table.find("safe");
        CPPUNIT_ASSERT(!safe->fallsBackOn(FallbackOn::ContextLength) && safe->fallsBackOn(FallbackOn::ContentFilter));
        CPPUNIT_ASSERT_EQUAL(0u, table.find("off")->fallbackOn);
    }

    void continueStreamsIsAFlag() {
        _config->setString("aliases.on.chain", "llama3.2");
        _config->setString("aliases.on.continue_streams", "true");
        _config->setString("aliases.off.chain", "llama3.2");
        _config->setString("aliases.off.continue_streams", "false");
        const auto table = parse();
        CPPUNIT_ASSERT(table.find("on")->continueStreams);
        CPPUNIT_ASSERT(!table.find("off")->continueStreams);
    }

    void badFailoverSettingsAreRefusedWithTheirKey() {
        expectRefused({{"aliases.x.chain", "llama3.2"}, {"aliases.x.fallback_on", "rate_limit"}}, "aliases.x.fallback_on");
        expectRefused({{"aliases.x.chain", "llama3.2"}, {"aliases.x.fallback_on", "context_length, timeout"}},
                      "aliases.x.fallback_on");
        expectRefused({{"aliases.x.chain", "llama3.2"}, {"aliases.x.continue_streams", "maybe"}}, "aliases.x.continue_streams");
        expectRefused({{"aliases.x.chain", "llama3.2"}, {"aliases.x.retry.attempts", "11"}}, "aliases.x.retry.attempts");
        expectRefused({{"aliases.x.chain", "llama3.2"}, {"aliases.x.retry.attempts", "some"}}, "aliases.x.retry.attempts");
        expectRefused({{"aliases.x.chain", "llama3.2"}, {"aliases.x.retry.backoff_ms", "0"}}, "aliases.x.retry.backoff_ms");
        expectRefused({{"aliases.x.chain", "llama3.2"}, {"aliases.x.retry.max_wait_ms", "-5"}}, "aliases.x.retry.max_wait_ms");
        // Unknown settings, near misses of the new ones among them.
        expectRefused({{"aliases.x.chain", "llama3.2"}, {"aliases.x.fallback", "context_length"}}, "aliases.x.fallback");
        expectRefused({{"aliases.x.chain", "llama3.2"}, {"aliases.x.continue_stream", "true"}}, "aliases.x.continue_stream");
        expectRefused({{"aliases.x.chain", "llama3.2"}, {"aliases.x.retries", "2"}}, "aliases.x.retries");
    }

private:
    // A backend's policy, for an alias's override to apply to.
    static sluice::RetryPolicy backendPolicy() {
        sluice::RetryPolicy policy;
        policy.attempts = 3;
        policy.backoff = std::chrono::milliseconds(500);
        policy.maxWait = std::chrono::milliseconds(9000);
        return policy;
    }

    void expectRefused(std::vector<std::pair<std::string, std::string>> values, const std::string& key) {
        _config = new Poco::Util::MapConfiguration;
        for (const auto& [name, value] : values) _config->setString(name, value);
        try {
            parse();
            CPPUNIT_FAIL("accepted a bad alias; expected an error for " + key);
        } catch (const sluice::ConfigError& error) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(error.what(), key, error.key());
        }
    }

    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
};

CPPUNIT_TEST_SUITE_REGISTRATION(AliasConfigTest);

} // namespace
