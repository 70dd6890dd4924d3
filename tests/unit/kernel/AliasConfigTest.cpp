// AliasConfig: aliases.NAME.chain / .description / aliases.default, validated at build.
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

private:
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
