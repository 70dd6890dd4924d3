// KnownKeys: a typo in a known section stops start-up naming the nearest
// key; plugins' declared keys count; docs/ and the declarations agree.
#include <cppunit/extensions/HelperMacros.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include <Poco/Util/MapConfiguration.h>

#include "KnownKeys.h"
#include "PluginLoader.h"
#include "sluice/ConfigError.h"

namespace {

using sluice::kernel::KnownKeys;

Poco::AutoPtr<Poco::Util::MapConfiguration> configOf(std::initializer_list<std::pair<const char*, const char*>> entries) {
    Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
    for (const auto& [key, value] : entries) config->setString(key, value);
    return config;
}

// The error check() throws for `config`, or "" when it passes.
std::string problemOf(const KnownKeys& keys, const Poco::Util::AbstractConfiguration& config) {
    try {
        keys.check(config);
        return "";
    } catch (const sluice::ConfigError& e) {
        return e.what();
    }
}

// Every dotted `key` in the first column of a table in docs/*.md, NAME parts
// as `*` (metric names and stage names have no dot).
std::set<std::string> documentedKeys() {
    std::set<std::string> keys;
    const std::regex row(R"(^\| `([a-z_][a-z0-9_]*(\.[a-zA-Z0-9_]+)+)` \|)");
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(SLUICE_SOURCE_DIR) / "docs")) {
        // testing*.md tables name tests (fuzz.properties), not keys.
        if (entry.path().extension() != ".md" || entry.path().filename().string().starts_with("testing")) continue;
        std::ifstream in(entry.path());
        for (std::string line; std::getline(in, line);) {
            std::smatch match;
            if (!std::regex_search(line, match, row)) continue;
            std::string key = match[1];
            key = std::regex_replace(key, std::regex(R"((^|\.)[A-Z]+(?=\.|$))"), "$1*");
            keys.insert(key);
        }
    }
    return keys;
}

class KnownKeysTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(KnownKeysTest);
    CPPUNIT_TEST(aTypoInAKnownSectionNamesTheNearestKey);
    CPPUNIT_TEST(namedPartsMatchAnyName);
    CPPUNIT_TEST(anUnknownKeyWithNothingNearIsStillRefused);
    CPPUNIT_TEST(retryAndFailoverKeysAreKnown);
    CPPUNIT_TEST(anOwnSectionIsLeftAloneUnlessItIsANearMiss);
    CPPUNIT_TEST(pluginKeysCountOnlyWhenDeclared);
    CPPUNIT_TEST(docsAndDeclarationsAgree);
    CPPUNIT_TEST_SUITE_END();

public:
    void aTypoInAKnownSectionNamesTheNearestKey() {
        const auto keys = KnownKeys::kernel();
        CPPUNIT_ASSERT_EQUAL(std::string("server.prot: unknown key (did you mean server.port?)"),
                             problemOf(keys, *configOf({{"server.prot", "9090"}})));
        CPPUNIT_ASSERT_EQUAL(std::string("server.max_thread: unknown key (did you mean server.max_threads?)"),
                             problemOf(keys, *configOf({{"server.max_threads", "8"}, {"server.max_thread", "8"}})));
        CPPUNIT_ASSERT_EQUAL(std::string(""), problemOf(keys, *configOf({{"server.port", "9090"}, {"log.level", "debug"}})));
    }

    void namedPartsMatchAnyName() {
        const auto keys = KnownKeys::kernel();
        CPPUNIT_ASSERT(keys.knows("backends.gpu-1.timeout.idle_ms"));
        CPPUNIT_ASSERT(keys.knows("aliases.coder@2.chain"));
        CPPUNIT_ASSERT(!keys.knows("backends.gpu-1.timeout"));
        CPPUNIT_ASSERT_EQUAL(std::string("backends.gpu-1.ulr: unknown key (did you mean backends.gpu-1.url?)"),
                             problemOf(keys, *configOf({{"backends", "gpu-1"}, {"backends.gpu-1.ulr", "http://h"}})));
    }

    void anUnknownKeyWithNothingNearIsStillRefused() {
        const auto problem = problemOf(KnownKeys::kernel(), *configOf({{"server.colour", "blue"}}));
        CPPUNIT_ASSERT_EQUAL(std::string("server.colour: unknown key: neither sluiced nor a loaded plugin reads it"), problem);
    }

    // The keys the retry, cold-load, prefill and alias failover settings read.
    void retryAndFailoverKeysAreKnown() {
        const auto keys = KnownKeys::kernel();
        for (const char* key : {"retry.attempts", "retry.backoff_ms", "retry.max_wait_ms", "timeout.request_ms",
                                "backends.gpu.retry.attempts", "backends.gpu.retry.backoff_ms", "backends.gpu.retry.max_wait_ms",
                                "backends.gpu.timeout.cold_load_ms", "backends.gpu.accepts_prefill",
                                "aliases.fast.retry.attempts", "aliases.fast.retry.backoff_ms", "aliases.fast.retry.max_wait_ms",
                                "aliases.fast.fallback_on", "aliases.fast.continue_streams"})
            CPPUNIT_ASSERT_MESSAGE(key, keys.knows(key));
        // AliasConfig lets any aliases.NAME.retry.* through: a typo there is caught here.
        CPPUNIT_ASSERT_EQUAL(std::string("aliases.fast.retry.atempts: unknown key (did you mean aliases.fast.retry.attempts?)"),
                             problemOf(keys, *configOf({{"aliases.fast.chain", "m"}, {"aliases.fast.retry.atempts", "2"}})));
        CPPUNIT_ASSERT(!keys.knows("backends.gpu.retry"));
        CPPUNIT_ASSERT(!keys.knows("aliases.fast.retry.max_wait"));
    }

    void anOwnSectionIsLeftAloneUnlessItIsANearMiss() {
        const auto keys = KnownKeys::kernel();
        CPPUNIT_ASSERT_EQUAL(std::string(""), problemOf(keys, *configOf({{"vars.ollama_host", "10.0.0.5"}})));
        CPPUNIT_ASSERT_EQUAL(std::string("sever.port: unknown key (did you mean server.port?)"),
                             problemOf(keys, *configOf({{"sever.port", "9090"}})));
    }

    void pluginKeysCountOnlyWhenDeclared() {
        auto keys = KnownKeys::kernel();
        const auto config = configOf({{"limits.default_rpm", "5"}});
        CPPUNIT_ASSERT(problemOf(keys, *config).find("limits.default_rpm: unknown key") == 0);
        const auto plugins = sluice::kernel::PluginLoader().load(SLUICE_PLUGIN_DIR, {"ratelimit"}, "plugins.load");
        keys.add(plugins.at(0)->stages.declaredKeys());
        CPPUNIT_ASSERT_EQUAL(std::string(""), problemOf(keys, *config));
        CPPUNIT_ASSERT_EQUAL(std::string("limits.default_rmp: unknown key (did you mean limits.default_rpm?)"),
                             problemOf(keys, *configOf({{"limits.default_rmp", "5"}})));
    }

    // The reference an operator reads and the list a typo is checked against
    // are written in two places; this keeps them one list.
    void docsAndDeclarationsAgree() {
        auto known = KnownKeys::kernel();
        std::set<std::string> declared(KnownKeys::kernelPatterns().begin(), KnownKeys::kernelPatterns().end());
        declared.erase("include");     // the file format's, in the text above the tables
        declared.erase("config.dir");  // set by the loader, not by the operator
        declared.erase("backends");    // undotted: the check below looks for dotted keys
        for (const auto& plugin : sluice::kernel::PluginLoader().load(SLUICE_PLUGIN_DIR, {}, "plugins.load"))
            for (const auto& key : plugin->stages.declaredKeys()) declared.insert(key);
        known.add(std::vector<std::string>(declared.begin(), declared.end()));
        const auto documented = documentedKeys();
        CPPUNIT_ASSERT(documented.size() > 60);
        for (const auto& key : documented) CPPUNIT_ASSERT_MESSAGE("documented but not declared: " + key, known.knows(key));
        for (const auto& key : declared) CPPUNIT_ASSERT_MESSAGE("declared but not documented: " + key, documented.count(key) == 1);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(KnownKeysTest);

} // namespace
