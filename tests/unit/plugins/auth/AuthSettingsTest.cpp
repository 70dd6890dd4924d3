// readAuthSettings: the defaults, values as written, and a ConfigError that
// names the full key for anything wrong (never quoting a password).
#include <string>

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>
#include <cppunit/extensions/HelperMacros.h>

#include "AuthSettings.h"
#include "sluice/ConfigError.h"

namespace {

using sluice::ConfigError;
using sluice::auth::readAuthSettings;

Poco::AutoPtr<Poco::Util::MapConfiguration> configWith(std::initializer_list<std::pair<std::string, std::string>> values) {
    Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
    for (const auto& [key, value] : values) config->setString(key, value);
    return config;
}

// The ConfigError that reading `config` throws, or a failure when it reads.
ConfigError errorFrom(const Poco::Util::AbstractConfiguration& config) {
    try {
        readAuthSettings(config);
    } catch (const ConfigError& e) {
        return e;
    }
    CPPUNIT_FAIL("read, but should not have");
    return ConfigError("", "");
}

class AuthSettingsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuthSettingsTest);
    CPPUNIT_TEST(defaults);
    CPPUNIT_TEST(defaultStoreWithoutConfigDirIsRelative);
    CPPUNIT_TEST(valuesAsWritten);
    CPPUNIT_TEST(badNumberNamesTheFullKey);
    CPPUNIT_TEST(outOfRangeNamesTheFullKey);
    CPPUNIT_TEST(memoryBelowEightPerLaneIsRefused);
    CPPUNIT_TEST(changePollTooFastIsRefused);
    CPPUNIT_TEST(badStoreUrlNamesTheKey);
    CPPUNIT_TEST(badRedisUrlNamesTheKey);
    CPPUNIT_TEST_SUITE_END();

public:
    void defaults() {
        const auto config = configWith({{"config.dir", "/etc/sluice/"}});
        const auto settings = readAuthSettings(*config);
        CPPUNIT_ASSERT(settings.store.engine == sluice::store::Engine::SQLite);
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/sluice/var/sluice.db"), settings.store.sqlitePath);
        CPPUNIT_ASSERT(!settings.redis.has_value());
        CPPUNIT_ASSERT_EQUAL(std::int64_t(250), static_cast<std::int64_t>(settings.redisTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(3U, settings.argon2.timeCost);
        CPPUNIT_ASSERT_EQUAL(65536U, settings.argon2.memoryKiB);
        CPPUNIT_ASSERT_EQUAL(4U, settings.argon2.parallelism);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(60), static_cast<std::int64_t>(settings.cacheTtl.count()));
        CPPUNIT_ASSERT_EQUAL(std::size_t(10000), settings.cacheSize);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(10), static_cast<std::int64_t>(settings.failureCacheTtl.count()));
        CPPUNIT_ASSERT_EQUAL(20U, settings.failuresPerAddressPerMinute);
        CPPUNIT_ASSERT(settings.maxParallelVerifies >= 1);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(500), static_cast<std::int64_t>(settings.changePollInterval.count()));
    }

    void defaultStoreWithoutConfigDirIsRelative() {
        const auto config = configWith({});
        CPPUNIT_ASSERT_EQUAL(std::string("var/sluice.db"), readAuthSettings(*config).store.sqlitePath);
        // A relative path that is written out is also resolved against config.dir.
        const auto other = configWith({{"config.dir", "/srv/gw/"}, {"store.url", "sqlite:data/keys.db"}});
        CPPUNIT_ASSERT_EQUAL(std::string("/srv/gw/data/keys.db"), readAuthSettings(*other).store.sqlitePath);
        const auto noSlash = configWith({{"config.dir", "/srv/gw"}, {"store.url", "sqlite:keys.db"}});
        CPPUNIT_ASSERT_EQUAL(std::string("/srv/gw/keys.db"), readAuthSettings(*noSlash).store.sqlitePath);
        const auto absolute = configWith({{"config.dir", "/srv/gw/"}, {"store.url", "sqlite:/var/lib/sluice.db"}});
        CPPUNIT_ASSERT_EQUAL(std::string("/var/lib/sluice.db"), readAuthSettings(*absolute).store.sqlitePath);
    }

    void valuesAsWritten() {
        const auto config = configWith({{"store.url", "postgresql://gw:pw@db.internal:6543/sluice"},
                                        {"redis.url", "redis://cache:6380/2"},
                                        {"redis.timeout_ms", "100"},
                                        {"auth.argon2.time_cost", "2"},
                                        {"auth.argon2.memory_kib", " 19456 "},
                                        {"auth.argon2.parallelism", "1"},
                                        {"auth.cache_ttl_s", "0"},
                                        {"auth.cache_size", "16"},
                                        {"auth.failure_cache_ttl_s", "3"},
                                        {"auth.failures_per_ip_per_min", "0"},
                                        {"auth.max_parallel_verifies", "7"},
                                        {"auth.change_poll_ms", "50"}});
        const auto settings = readAuthSettings(*config);
        CPPUNIT_ASSERT(settings.store.engine == sluice::store::Engine::PostgreSQL);
        CPPUNIT_ASSERT_EQUAL(std::string("postgresql://gw@db.internal:6543/sluice"), settings.store.display());
        CPPUNIT_ASSERT(settings.redis.has_value());
        CPPUNIT_ASSERT_EQUAL(std::string("cache"), settings.redis->host);
        CPPUNIT_ASSERT_EQUAL(6380, settings.redis->port);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(100), static_cast<std::int64_t>(settings.redisTimeout.count()));
        CPPUNIT_ASSERT_EQUAL(2U, settings.argon2.timeCost);
        CPPUNIT_ASSERT_EQUAL(19456U, settings.argon2.memoryKiB);
        CPPUNIT_ASSERT_EQUAL(1U, settings.argon2.parallelism);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(0), static_cast<std::int64_t>(settings.cacheTtl.count()));
        CPPUNIT_ASSERT_EQUAL(std::size_t(16), settings.cacheSize);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(3), static_cast<std::int64_t>(settings.failureCacheTtl.count()));
        CPPUNIT_ASSERT_EQUAL(0U, settings.failuresPerAddressPerMinute);
        CPPUNIT_ASSERT_EQUAL(7U, settings.maxParallelVerifies);
        CPPUNIT_ASSERT_EQUAL(std::int64_t(50), static_cast<std::int64_t>(settings.changePollInterval.count()));
    }

    void badNumberNamesTheFullKey() {
        for (const std::string key : {"auth.argon2.time_cost", "auth.argon2.memory_kib", "auth.argon2.parallelism",
                                      "auth.cache_ttl_s", "auth.cache_size", "auth.failure_cache_ttl_s",
                                      "auth.failures_per_ip_per_min", "auth.max_parallel_verifies",
                                      "auth.change_poll_ms", "redis.timeout_ms"}) {
            const auto config = configWith({{key, "lots"}});
            const auto error = errorFrom(*config);
            CPPUNIT_ASSERT_EQUAL(key, error.key());
            CPPUNIT_ASSERT_MESSAGE(error.what(), std::string(error.what()).rfind(key + ": ", 0) == 0);
            CPPUNIT_ASSERT_MESSAGE(error.what(), std::string(error.what()).find("lots") != std::string::npos);
        }
    }

    void outOfRangeNamesTheFullKey() {
        for (const auto& [key, value] : {std::pair<std::string, std::string>{"auth.argon2.time_cost", "0"},
                                         {"auth.argon2.parallelism", "65"},
                                         {"auth.cache_size", "15"},
                                         {"auth.cache_ttl_s", "-1"},
                                         {"redis.timeout_ms", "0"}}) {
            const auto config = configWith({{key, value}});
            const auto error = errorFrom(*config);
            CPPUNIT_ASSERT_EQUAL(key, error.key());
            CPPUNIT_ASSERT_MESSAGE(error.what(), std::string(error.what()).find("out of range") != std::string::npos);
        }
    }

    void memoryBelowEightPerLaneIsRefused() {
        const auto config = configWith({{"auth.argon2.memory_kib", "31"}, {"auth.argon2.parallelism", "4"}});
        const auto error = errorFrom(*config);
        CPPUNIT_ASSERT_EQUAL(std::string("auth.argon2.memory_kib"), error.key());
        // Exactly 8 per lane is enough.
        const auto enough = configWith({{"auth.argon2.memory_kib", "32"}, {"auth.argon2.parallelism", "4"}});
        CPPUNIT_ASSERT_EQUAL(32U, readAuthSettings(*enough).argon2.memoryKiB);
    }

    void changePollTooFastIsRefused() {
        const auto config = configWith({{"auth.change_poll_ms", "49"}});
        CPPUNIT_ASSERT_EQUAL(std::string("auth.change_poll_ms"), errorFrom(*config).key());
    }

    void badStoreUrlNamesTheKey() {
        for (const std::string url : {"mysql://u:hunter2@h/db", "sqlite:", "postgresql://u:hunter2@/db",
                                      "postgresql://u:hunter2@h/", "postgresql://u:hunter2@h/a/b"}) {
            const auto config = configWith({{"store.url", url}});
            const auto error = errorFrom(*config);
            const std::string message = error.what();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(url, std::string("store.url"), error.key());
            CPPUNIT_ASSERT_MESSAGE(message, message.rfind("store.url: ", 0) == 0);
            // The key is named once, not once by StoreUrl and again by ConfigError.
            CPPUNIT_ASSERT_MESSAGE(message, message.find("store.url", 1) == std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(message, message.size() > std::string("store.url: ").size());
            CPPUNIT_ASSERT_MESSAGE(message, message.find("hunter2") == std::string::npos);
        }
    }

    void badRedisUrlNamesTheKey() {
        for (const std::string url : {"http://cache", "redis://:hunter2@", "redis://u:hunter2@h:99999",
                                      "rediss://u:hunter2@h"}) {
            const auto config = configWith({{"redis.url", url}});
            const auto error = errorFrom(*config);
            const std::string message = error.what();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(url, std::string("redis.url"), error.key());
            CPPUNIT_ASSERT_MESSAGE(message, message.rfind("redis.url: ", 0) == 0);
            CPPUNIT_ASSERT_MESSAGE(message, message.find("hunter2") == std::string::npos);
        }
        // An empty value means no Redis, not a bad URL.
        const auto empty = configWith({{"redis.url", "  "}});
        CPPUNIT_ASSERT(!readAuthSettings(*empty).redis.has_value());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuthSettingsTest);

} // namespace
