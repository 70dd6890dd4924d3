// `sluiced --check`, `sluicectl check-config` and `sluicectl models` build the
// whole pipeline to validate it, and create, migrate or write nothing: run
// against a fresh deployment folder (an apikey store, SQLite and jsonl audit
// sinks, a spill folder and a log file, none of them there yet) the folder is
// left exactly as it was; an existing store and audit file keep their bytes
// and times; an empty PostgreSQL is refused (as sluiced would refuse to start)
// without a table being created, and a migrated one is left as it was.

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <cppunit/extensions/HelperMacros.h>
#include <libpq-fe.h>

#include "AuthDeployment.h"
#include "ChildProcess.h"
#include "FakeBackend.h"
#include "Gateway.h"
#include "ScratchDir.h"

namespace sluice::test {

namespace {

namespace fs = std::filesystem;

struct Run {
    int code = -1;
    std::string output;
};

Run run(const std::string& binary, const std::vector<std::string>& args) {
    ChildProcess process(std::string(SLUICE_BIN_DIR) + "/" + binary, args);
    const auto code = process.waitForExit(std::chrono::seconds(60)).value_or(-1);
    return {code, process.output()};
}

// The three commands, each as an operator would run it on `config`.
std::vector<std::pair<std::string, Run>> runChecks(const fs::path& config) {
    return {{"sluiced --check", run("sluiced", {"--config", config.string(), "--check"})},
            {"sluicectl check-config", run("sluicectl", {"check-config", "--config", config.string()})},
            {"sluicectl models", run("sluicectl", {"--config", config.string(), "models"})}};
}

// Every file and folder under `root`: its size, modification time and bytes.
std::map<std::string, std::string> snapshot(const fs::path& root) {
    std::map<std::string, std::string> out;
    for (const auto& item : fs::recursive_directory_iterator(root)) {
        std::ostringstream state;
        state << item.last_write_time().time_since_epoch().count() << " ";
        if (item.is_regular_file()) {
            std::ifstream in(item.path(), std::ios::binary);
            state << item.file_size() << " " << in.rdbuf();
        }
        out[fs::relative(item.path(), root).string()] = state.str();
    }
    return out;
}

// What appeared, went or changed between two snapshots.
std::string differences(const std::map<std::string, std::string>& before, const std::map<std::string, std::string>& after) {
    std::string out;
    for (const auto& [path, state] : after) {
        const auto was = before.find(path);
        if (was == before.end()) out += " made " + path;
        else if (was->second != state) out += " changed " + path;
    }
    for (const auto& [path, state] : before)
        if (after.count(path) == 0) out += " removed " + path;
    return out;
}

// One statement on PostgreSQL; the first value of the first row ("" for none).
std::string pgValue(const std::string& connection, const std::string& sql) {
    PGconn* conn = PQconnectdb(connection.c_str());
    std::string value;
    if (PQstatus(conn) == CONNECTION_OK) {
        PGresult* result = PQexec(conn, sql.c_str());
        if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) value = PQgetvalue(result, 0, 0);
        else if (PQresultStatus(result) != PGRES_COMMAND_OK) value = std::string("error: ") + PQresultErrorMessage(result);
        PQclear(result);
    } else {
        value = std::string("error: ") + PQerrorMessage(conn);
    }
    PQfinish(conn);
    return value;
}

// Tables and how many schema_migrations rows: what a migration would change.
std::string pgSchema(const std::string& connection) {
    const auto tables = pgValue(connection, "SELECT COALESCE(string_agg(table_name, ',' ORDER BY table_name), '') FROM "
                                            "information_schema.tables WHERE table_schema = 'public'");
    const bool versioned = pgValue(connection, "SELECT to_regclass('schema_migrations') IS NOT NULL") == "t";
    return tables + " / " + (versioned ? pgValue(connection, "SELECT COUNT(*) FROM schema_migrations") : "none");
}

} // namespace

class CheckCommandsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CheckCommandsTest);
    CPPUNIT_TEST(aFreshFolderIsLeftEmpty);
    CPPUNIT_TEST(anExistingStoreIsLeftAsItWas);
    CPPUNIT_TEST(postgresqlIsNeverMigrated);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _dir = std::make_unique<ScratchDir>("sluice-check");
        _backend = std::make_unique<FakeBackend>("ollama", "gpu-box");
        fs::create_directories(_dir->path / "etc");
        fs::create_directories(_dir->path / "log");
    }
    void tearDown() override {
        _backend.reset();
        _dir.reset();
    }

    // etc/sluice.properties: apikey auth on `storeUrl`, the `sinks` audit
    // sinks, every path relative to etc/ and none of them made yet.
    fs::path writeConfig(const std::string& storeUrl, const std::string& sinks) {
        const auto path = _dir->path / "etc" / "sluice.properties";
        std::ofstream(path) << baseConfig() << "pipeline.auth = apikey\n"
                            << "store.url = " << storeUrl << "\n"
                            << "pipeline.audit = " << sinks << "\n"
                            << "audit.jsonl.path = ../var/audit/audit.jsonl\n"
                            << "log.path = " << (_dir->path / "log" / "sluiced.log").string() << "\n"
                            << "backends = gpu\n"
                            << "backends.gpu.url = " << _backend->url() << "\n";
        return path;
    }

    void assertChecksPass(const fs::path& config) {
        for (const auto& [command, result] : runChecks(config))
            CPPUNIT_ASSERT_EQUAL_MESSAGE(command + ": " + result.output, 0, result.code);
    }

    void aFreshFolderIsLeftEmpty() {
        const auto config = writeConfig("sqlite:../var/sluice.db", "sqlite, jsonl");
        const auto before = snapshot(_dir->path);
        for (const auto& [command, result] : runChecks(config)) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(command + ": " + result.output, 0, result.code);
            const auto after = snapshot(_dir->path);
            CPPUNIT_ASSERT_MESSAGE(command + ":" + differences(before, after), before == after);
        }
        // Still fully validated: a bad value of a stage that opens nothing is refused by each.
        std::ofstream(config, std::ios::app) << "audit.jsonl.keep = 0\n";
        for (const auto& [command, result] : runChecks(config)) {
            CPPUNIT_ASSERT_MESSAGE(command + ": " + result.output, result.code != 0);
            CPPUNIT_ASSERT_MESSAGE(command + ": " + result.output, result.output.find("audit.jsonl.keep") != std::string::npos);
        }
    }

    void anExistingStoreIsLeftAsItWas() {
        const auto config = writeConfig("sqlite:../var/sluice.db", "sqlite, jsonl");
        const auto migrated = run("sluicectl", {"--config", config.string(), "migrate"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(migrated.output, 0, migrated.code);
        const auto tenant = run("sluicectl", {"--config", config.string(), "tenants", "create", "team", "--all-models"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(tenant.output, 0, tenant.code);
        fs::create_directories(_dir->path / "var" / "audit");
        std::ofstream(_dir->path / "var" / "audit" / "audit.jsonl") << R"({"request_id":"earlier","at_ms":1})" << "\n";
        const auto before = snapshot(_dir->path);
        CPPUNIT_ASSERT(before.count("var/sluice.db") == 1);
        for (const auto& [command, result] : runChecks(config)) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(command + ": " + result.output, 0, result.code);
            const auto after = snapshot(_dir->path);
            CPPUNIT_ASSERT_MESSAGE(command + ":" + differences(before, after), before == after);
        }
    }

    void postgresqlIsNeverMigrated() {
        auto& server = sharedPostgres();
        static int databases = 0;
        const auto name = "check_" + std::to_string(::getpid()) + "_" + std::to_string(databases++);
        CPPUNIT_ASSERT_EQUAL(std::string(), pgValue(server.connectionString(), "CREATE DATABASE " + name));
        const auto url = "postgresql://postgres@127.0.0.1:" + std::to_string(server.port()) + "/" + name;
        const auto connection = "host=127.0.0.1 port=" + std::to_string(server.port()) + " dbname=" + name +
                                " user=postgres connect_timeout=5";
        const auto config = writeConfig(url, "postgresql");

        // Empty: refused, as sluiced would refuse to start, and nothing is created.
        const auto empty = pgSchema(connection);
        CPPUNIT_ASSERT_EQUAL(std::string(" / none"), empty);
        for (const auto& [command, result] : runChecks(config)) {
            CPPUNIT_ASSERT_MESSAGE(command + ": " + result.output, result.code != 0);
            CPPUNIT_ASSERT_MESSAGE(command + ": " + result.output, result.output.find("migrate") != std::string::npos);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(command, empty, pgSchema(connection));
        }

        // Migrated: passes, and stays as it was.
        const auto migrated = run("sluicectl", {"--config", config.string(), "migrate"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(migrated.output, 0, migrated.code);
        const auto current = pgSchema(connection);
        for (const auto& [command, result] : runChecks(config)) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(command + ": " + result.output, 0, result.code);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(command, current, pgSchema(connection));
        }
        CPPUNIT_ASSERT_MESSAGE("only the log folder, empty", fs::is_empty(_dir->path / "log"));
    }

private:
    std::unique_ptr<ScratchDir> _dir;
    std::unique_ptr<FakeBackend> _backend;
};

CPPUNIT_TEST_SUITE_REGISTRATION(CheckCommandsTest);

} // namespace sluice::test
