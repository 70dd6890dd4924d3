#include "AuditFaults.h"

#include <fstream>
#include <stdexcept>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <nlohmann/json.hpp>

#include "PostgresServer.h"
#include "sluice/store/Database.h"

namespace sluice::test {

using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;

void PostgresOutage::begin() { _server.stop(); }
void PostgresOutage::end() { _server.start(); }

SqliteWriteLock::SqliteWriteLock(std::filesystem::path database) : _database(std::move(database)) {
    Poco::Data::SQLite::Connector::registerConnector();
}

SqliteWriteLock::~SqliteWriteLock() {
    try {
        end();
    } catch (...) {
    }
}

void SqliteWriteLock::begin() {
    _holder = std::make_unique<Poco::Data::Session>("SQLite", _database.string());
    *_holder << "BEGIN IMMEDIATE", now;
    *_holder << "CREATE TABLE IF NOT EXISTS lock_holder (x INTEGER)", now;
    *_holder << "INSERT INTO lock_holder VALUES (1)", now;
}

bool SqliteWriteLock::holds() const {
    Poco::Data::Session other("SQLite", _database.string());
    other << "PRAGMA busy_timeout = 0", now;
    try {
        other << "BEGIN IMMEDIATE", now;
    } catch (const Poco::Exception&) {
        return true;  // SQLITE_BUSY: the lock is held
    }
    other << "ROLLBACK", now;
    return false;
}

void SqliteWriteLock::end() {
    if (!_holder) return;
    *_holder << "ROLLBACK", now;
    _holder.reset();
}

UnwritableFolder::~UnwritableFolder() {
    try {
        end();
    } catch (...) {
    }
}

void UnwritableFolder::begin() {
    std::filesystem::rename(_folder, _folder.string() + ".away");
    std::ofstream(_folder) << "not a folder\n";
    _active = true;
}

void UnwritableFolder::end() {
    if (!_active) return;
    std::filesystem::remove(_folder);
    std::filesystem::rename(_folder.string() + ".away", _folder);
    _active = false;
}

std::vector<std::string> auditIdsInDatabase(const std::string& storeUrl, const std::string& prefix) {
    Poco::Data::SQLite::Connector::registerConnector();
    store::Database db(store::StoreUrl::parse(storeUrl), 1);
    auto session = db.session();
    std::string pattern = prefix + "%";
    Poco::Data::Statement select(session);
    select << db.sql("SELECT request_id FROM audit_records WHERE request_id LIKE ?"), use(pattern), now;
    Poco::Data::RecordSet rows(select);
    std::vector<std::string> ids;
    for (bool more = rows.moveFirst(); more; more = rows.moveNext()) ids.push_back(rows.value(0).convert<std::string>());
    return ids;
}

std::vector<std::string> auditIdsInJsonl(const std::filesystem::path& file) {
    std::vector<std::string> ids;
    auto read = [&](const std::filesystem::path& path) {
        std::ifstream in(path);
        for (std::string line; std::getline(in, line);) {
            if (line.empty()) continue;
            ids.push_back(nlohmann::json::parse(line).at("request_id").get<std::string>());
        }
    };
    read(file);
    for (int n = 1; std::filesystem::exists(file.string() + "." + std::to_string(n)); ++n) read(file.string() + "." + std::to_string(n));
    return ids;
}

} // namespace sluice::test
