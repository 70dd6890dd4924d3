#include "DatabaseSink.h"

#include "AuditRows.h"
#include "sluice/AuditJson.h"
#include "sluice/store/AuditStore.h"
#include "sluice/store/Migrations.h"

namespace sluice::audit {

namespace {
std::string oneLine(std::string text) {
    for (auto& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text;
}
} // namespace

DatabaseSink::DatabaseSink(DatabaseSinkSettings settings, Poco::Logger* logger)
    : _settings(std::move(settings)), _logger(logger) {}

store::Database& DatabaseSink::database() {
    if (!_db) {
        auto db = std::make_unique<store::Database>(_settings.url, 1);
        // SQLite belongs to this process (sluiced migrates it on start; an
        // audit-only file is migrated here); PostgreSQL is migrated by the operator.
        if (_settings.url.engine == store::Engine::SQLite) store::migrate(*db);
        _db = std::move(db);
    }
    return *_db;
}

SinkResult DatabaseSink::write(const std::vector<AuditRecord>& batch) {
    try {
        std::vector<store::AuditRow> rows;
        rows.reserve(batch.size());
        for (const auto& record : batch) rows.push_back(toRow(record));
        store::AuditStore(database()).write(rows);
        return {};
    } catch (const std::exception& e) {
        _db.reset();
        return {false, oneLine(e.what())};
    } catch (...) {
        _db.reset();
        return {false, "audit store " + _settings.url.display() + ": unknown error"};
    }
}

void DatabaseSink::maintain(std::chrono::system_clock::time_point now) {
    try {
        const auto purged = store::AuditStore(database()).purge(epochMillis(now), _settings.retention);
        if (_logger != nullptr && (purged.records > 0 || purged.prompts > 0))
            _logger->information("audit %s: purged %z record(s) and %z prompt(s) past retention%s",
                                 _settings.url.display(), purged.records, purged.prompts,
                                 std::string(purged.more ? ", more to go" : ""));
    } catch (const std::exception& e) {
        _db.reset();
        if (_logger != nullptr) _logger->warning("audit %s: purge failed: %s", _settings.url.display(), oneLine(e.what()));
    } catch (...) {
        _db.reset();
    }
}

} // namespace sluice::audit
