// readDatabaseSinkSettings, readJsonlSinkSettings and auditReadUrl: the
// defaults, which URL each sink takes, paths against config.dir, and a
// ConfigError naming the full key for anything wrong.
#include <string>

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>
#include <cppunit/extensions/HelperMacros.h>

#include "AuditSettings.h"
#include "sluice/ConfigError.h"

namespace {

using sluice::ConfigError;
using sluice::audit::auditReadUrl;
using sluice::audit::readDatabaseSinkSettings;
using sluice::audit::readJsonlSinkSettings;
using sluice::store::Engine;

const std::string kPostgres = "postgresql://gw:hunter2@db.example:5432/sluice";

Poco::AutoPtr<Poco::Util::MapConfiguration> configWith(std::initializer_list<std::pair<std::string, std::string>> values) {
    Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
    config->setString("config.dir", "/etc/sluice/");
    for (const auto& [key, value] : values) config->setString(key, value);
    return config;
}

template <typename Read>
std::string keyOfError(Read&& read) {
    try {
        read();
    } catch (const ConfigError& e) {
        CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("hunter2") == std::string::npos);
        return e.key();
    }
    CPPUNIT_FAIL("read, but should not have");
    return {};
}

class AuditSettingsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuditSettingsTest);
    CPPUNIT_TEST(sqliteDefaultsToTheStore);
    CPPUNIT_TEST(postgresqlDefaultsToTheStoreWhenItIsPostgres);
    CPPUNIT_TEST(eachEngineNeedsItsOwnKind);
    CPPUNIT_TEST(retentionKeys);
    CPPUNIT_TEST(jsonlPathsAndDefaults);
    CPPUNIT_TEST(jsonlRefusesBadValues);
    CPPUNIT_TEST(sluicectlReadsPostgresThenSqliteThenStore);
    CPPUNIT_TEST_SUITE_END();

public:
    void sqliteDefaultsToTheStore() {
        auto settings = readDatabaseSinkSettings(*configWith({}), Engine::SQLite);
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/sluice/var/sluice.db"), settings.url.sqlitePath);
        settings = readDatabaseSinkSettings(*configWith({{"store.url", "sqlite:data/s.db"}}), Engine::SQLite);
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/sluice/data/s.db"), settings.url.sqlitePath);
        settings = readDatabaseSinkSettings(
            *configWith({{"store.url", kPostgres}, {"audit.sqlite.url", "sqlite:/var/audit.db"}}), Engine::SQLite);
        CPPUNIT_ASSERT_EQUAL(std::string("/var/audit.db"), settings.url.sqlitePath);
        CPPUNIT_ASSERT_EQUAL(365, settings.retention.auditDays);
        CPPUNIT_ASSERT_EQUAL(30, settings.retention.promptDays);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1000), settings.retention.batch);
    }

    void postgresqlDefaultsToTheStoreWhenItIsPostgres() {
        const auto settings = readDatabaseSinkSettings(*configWith({{"store.url", kPostgres}}), Engine::PostgreSQL);
        CPPUNIT_ASSERT(settings.url.engine == Engine::PostgreSQL);
        CPPUNIT_ASSERT(settings.url.connectionString.find("host=db.example") != std::string::npos);
    }

    void eachEngineNeedsItsOwnKind() {
        CPPUNIT_ASSERT_EQUAL(std::string("audit.postgresql.url"),
                             keyOfError([] { readDatabaseSinkSettings(*configWith({}), Engine::PostgreSQL); }));
        CPPUNIT_ASSERT_EQUAL(std::string("audit.sqlite.url"), keyOfError([] {
                                 readDatabaseSinkSettings(*configWith({{"store.url", kPostgres}}), Engine::SQLite);
                             }));
        CPPUNIT_ASSERT_EQUAL(std::string("audit.postgresql.url"), keyOfError([] {
                                 readDatabaseSinkSettings(*configWith({{"audit.postgresql.url", "sqlite:a.db"}}),
                                                          Engine::PostgreSQL);
                             }));
        CPPUNIT_ASSERT_EQUAL(std::string("audit.postgresql.url"), keyOfError([] {
                                 readDatabaseSinkSettings(*configWith({{"audit.postgresql.url", "mysql://x/y"}}),
                                                          Engine::PostgreSQL);
                             }));
    }

    void retentionKeys() {
        const auto settings = readDatabaseSinkSettings(
            *configWith({{"audit.retention_days", "90"}, {"audit.prompt_retention_days", "7"}, {"audit.purge_batch", "50"}}),
            Engine::SQLite);
        CPPUNIT_ASSERT_EQUAL(90, settings.retention.auditDays);
        CPPUNIT_ASSERT_EQUAL(7, settings.retention.promptDays);
        CPPUNIT_ASSERT_EQUAL(std::size_t(50), settings.retention.batch);
        CPPUNIT_ASSERT_EQUAL(std::string("audit.retention_days"), keyOfError([] {
                                 readDatabaseSinkSettings(*configWith({{"audit.retention_days", "0"}}), Engine::SQLite);
                             }));
        CPPUNIT_ASSERT_EQUAL(std::string("audit.purge_batch"), keyOfError([] {
                                 readDatabaseSinkSettings(*configWith({{"audit.purge_batch", "x"}}), Engine::SQLite);
                             }));
    }

    void jsonlPathsAndDefaults() {
        auto settings = readJsonlSinkSettings(*configWith({{"audit.jsonl.path", "log/audit.jsonl"}}));
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/sluice/log/audit.jsonl"), settings.path);
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/sluice/log/audit.jsonl.prompts"), settings.promptsPath);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(104857600), settings.maxBytes);
        CPPUNIT_ASSERT_EQUAL(10, settings.keep);
        settings = readJsonlSinkSettings(*configWith({{"audit.jsonl.path", "/var/log/a.jsonl"},
                                                      {"audit.jsonl.prompts_path", "p.jsonl"},
                                                      {"audit.jsonl.max_bytes", "8192"},
                                                      {"audit.jsonl.keep", "3"}}));
        CPPUNIT_ASSERT_EQUAL(std::string("/var/log/a.jsonl"), settings.path);
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/sluice/p.jsonl"), settings.promptsPath);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(8192), settings.maxBytes);
        CPPUNIT_ASSERT_EQUAL(3, settings.keep);
    }

    void jsonlRefusesBadValues() {
        CPPUNIT_ASSERT_EQUAL(std::string("audit.jsonl.path"), keyOfError([] { readJsonlSinkSettings(*configWith({})); }));
        CPPUNIT_ASSERT_EQUAL(std::string("audit.jsonl.keep"), keyOfError([] {
                                 readJsonlSinkSettings(*configWith({{"audit.jsonl.path", "a"}, {"audit.jsonl.keep", "0"}}));
                             }));
        CPPUNIT_ASSERT_EQUAL(std::string("audit.jsonl.max_bytes"), keyOfError([] {
                                 readJsonlSinkSettings(*configWith({{"audit.jsonl.path", "a"}, {"audit.jsonl.max_bytes", "10"}}));
                             }));
        CPPUNIT_ASSERT_EQUAL(std::string("audit.jsonl.prompts_path"), keyOfError([] {
                                 readJsonlSinkSettings(
                                     *configWith({{"audit.jsonl.path", "a"}, {"audit.jsonl.prompts_path", "./a"}}));
                             }));
    }

    void sluicectlReadsPostgresThenSqliteThenStore() {
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/sluice/s.db"),
                             auditReadUrl(*configWith({{"store.url", "sqlite:s.db"}})).sqlitePath);
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/sluice/a.db"),
                             auditReadUrl(*configWith({{"store.url", "sqlite:s.db"}, {"audit.sqlite.url", "sqlite:a.db"}}))
                                 .sqlitePath);
        CPPUNIT_ASSERT(auditReadUrl(*configWith({{"audit.sqlite.url", "sqlite:a.db"}, {"audit.postgresql.url", kPostgres}}))
                           .engine == Engine::PostgreSQL);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuditSettingsTest);

} // namespace
