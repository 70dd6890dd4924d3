#include "AuthDeployment.h"

#include <atomic>
#include <fstream>
#include <sstream>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Path.h>
#include <cppunit/TestAssert.h>

#include "ChildProcess.h"
#include "sluice/store/Database.h"

namespace sluice::test {

namespace {
std::atomic<int> counter{0};

// Small argon2 settings keep the suite fast; the production defaults are
// unit-tested and measured in bench/.
const char* const kFastArgon2 =
    "auth.argon2.time_cost = 1\n"
    "auth.argon2.memory_kib = 1024\n"
    "auth.argon2.parallelism = 1\n";
} // namespace

PostgresServer& sharedPostgres() {
    static PostgresServer server;
    return server;
}

AuthDeployment::AuthDeployment(StoreKind store, RedisServer* redis, const std::string& extraConfig)
    : _extra(extraConfig) {
    if (store == StoreKind::SQLite) {
        _dir = Poco::Path::temp() + "sluice-auth-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
        _storeUrl = "sqlite:" + _dir + "/sluice.db";
        Poco::TemporaryFile::registerForDeletion(_dir);
    } else {
        _storeUrl = sharedPostgres().url();
    }
    if (redis != nullptr) _redisUrl = redis->url();
    std::ofstream(_ctlConfig.path()) << config("backends = local\nbackends.local.url = http://127.0.0.1:9\n");
    if (store == StoreKind::PostgreSQL) {
        const auto migrated = ctl({"migrate"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(migrated.output, 0, migrated.code);
    }
}

std::string AuthDeployment::config(const std::string& backendLines) const {
    return baseConfig() + "pipeline.auth = apikey\n" + "store.url = " + _storeUrl + "\n" +
           (_redisUrl.empty() ? "" : "redis.url = " + _redisUrl + "\n") + kFastArgon2 + backendLines + _extra;
}

std::string AuthDeployment::configWith(const FakeBackend& backend) const {
    return config("backends = local\nbackends.local.url = " + backend.url() + "\n");
}

CtlResult AuthDeployment::ctl(const std::vector<std::string>& args) const {
    std::vector<std::string> all{"--config", _ctlConfig.path()};
    all.insert(all.end(), args.begin(), args.end());
    ChildProcess process(SLUICE_BIN_DIR "/sluicectl", all);
    CtlResult result;
    result.code = process.waitForExit(std::chrono::seconds(30)).value_or(-1);
    result.output = process.output();
    auto text = result.output;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    result.lastLine = text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
    return result;
}

std::string AuthDeployment::createTenant(const std::string& prefix, const std::vector<std::string>& options) {
    const auto name = prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    std::vector<std::string> args{"tenants", "create", name};
    args.insert(args.end(), options.begin(), options.end());
    const auto result = ctl(args);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(result.output, 0, result.code);
    return name;
}

std::string AuthDeployment::createKey(const std::string& tenant, const std::vector<std::string>& options) {
    std::vector<std::string> args{"keys", "create", "--tenant", tenant};
    args.insert(args.end(), options.begin(), options.end());
    const auto result = ctl(args);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(result.output, 0, result.code);
    CPPUNIT_ASSERT_MESSAGE(result.output, result.lastLine.rfind("slk_", 0) == 0);
    return result.lastLine;
}

std::string AuthDeployment::storedHash(const std::string& keyId) const {
    store::Database db(store::StoreUrl::parse(_storeUrl), 1);
    auto session = db.session();
    std::string id = keyId;
    Poco::Data::Statement select(session);
    select << db.sql("SELECT secret_hash FROM api_keys WHERE key_id = ?"), Poco::Data::Keywords::use(id),
        Poco::Data::Keywords::now;
    Poco::Data::RecordSet rows(select);
    return rows.moveFirst() ? rows.value(0).convert<std::string>() : std::string();
}

void AuthDeployment::expireKey(const std::string& keyId) const {
    store::Database db(store::StoreUrl::parse(_storeUrl), 1);
    auto session = db.session();
    std::string id = keyId;
    session << db.sql("UPDATE api_keys SET expires_at = 1 WHERE key_id = ?"), Poco::Data::Keywords::use(id),
        Poco::Data::Keywords::now;
}

Headers bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

std::string keyIdOf(const std::string& key) { return key.substr(4, 12); }

double metricValue(const std::string& page, const std::string& series) {
    std::istringstream lines(page);
    std::string line;
    while (std::getline(lines, line))
        if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
    return -1;
}

} // namespace sluice::test
