#include "sluice/store/Migrations.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include "sluice/store/StoreError.h"

using namespace Poco::Data::Keywords;

namespace sluice::store {

namespace {

struct Migration {
    MigrationInfo info;
    // Portable statements; "%SERIAL%" becomes each engine's auto-increment key.
    std::vector<std::string> statements;
};

// Portable types only: TEXT, INTEGER, BIGINT. Flags are INTEGER 0/1, times
// are seconds (or milliseconds where named *_ms) since the epoch, and "none"
// is 0 rather than NULL so every column reads the same way on both engines.
const std::vector<Migration>& migrations() {
    static const std::vector<Migration> kMigrations = {
        {{1, "tenants, api keys, model grants, limit overrides, auth change log, audit"},
         {
             "CREATE TABLE tenants ("
             " name TEXT PRIMARY KEY,"
             " enabled INTEGER NOT NULL DEFAULT 1,"
             " expires_at BIGINT NOT NULL DEFAULT 0,"
             " allow_all_models INTEGER NOT NULL DEFAULT 0,"
             " log_prompts INTEGER NOT NULL DEFAULT 0,"
             " audit_retention_days INTEGER NOT NULL DEFAULT 0,"
             " prompt_retention_days INTEGER NOT NULL DEFAULT 0,"
             " created_at BIGINT NOT NULL,"
             " updated_at BIGINT NOT NULL)",

             // secret_hash is the argon2id encoded hash; the secret is never stored.
             "CREATE TABLE api_keys ("
             " key_id TEXT PRIMARY KEY,"
             " tenant TEXT NOT NULL REFERENCES tenants(name),"
             " secret_hash TEXT NOT NULL,"
             " enabled INTEGER NOT NULL DEFAULT 1,"
             " revoked_at BIGINT NOT NULL DEFAULT 0,"
             " expires_at BIGINT NOT NULL DEFAULT 0,"
             " allow_all_models INTEGER NOT NULL DEFAULT 1,"
             " created_at BIGINT NOT NULL,"
             " last_used_at BIGINT NOT NULL DEFAULT 0)",
             "CREATE INDEX api_keys_by_tenant ON api_keys (tenant)",

             // A row per model a tenant or key may use; used only where the
             // owner's allow_all_models is 0. A key's list narrows its tenant's.
             "CREATE TABLE model_grants ("
             " subject_kind TEXT NOT NULL CHECK (subject_kind IN ('tenant', 'key')),"
             " subject TEXT NOT NULL,"
             " model TEXT NOT NULL,"
             " PRIMARY KEY (subject_kind, subject, model))",

             // A row per limit set for a tenant or key; no row: the configured default.
             "CREATE TABLE limit_overrides ("
             " subject_kind TEXT NOT NULL CHECK (subject_kind IN ('tenant', 'key')),"
             " subject TEXT NOT NULL,"
             " limit_name TEXT NOT NULL CHECK (limit_name IN ('rpm', 'tpm', 'concurrent')),"
             " limit_value BIGINT NOT NULL,"
             " PRIMARY KEY (subject_kind, subject, limit_name))",

             // Every change to a tenant or key, so instances can drop what
             // they cached ("key:ID", "tenant:NAME"). SQLite instances poll it;
             // PostgreSQL also NOTIFYs.
             "CREATE TABLE auth_changes ("
             " seq %SERIAL%,"
             " subject TEXT NOT NULL,"
             " changed_at BIGINT NOT NULL)",

             "CREATE TABLE audit_records ("
             " request_id TEXT PRIMARY KEY,"
             " at_ms BIGINT NOT NULL,"
             " tenant TEXT NOT NULL DEFAULT '',"
             " key_id TEXT NOT NULL DEFAULT '',"
             " client_address TEXT NOT NULL DEFAULT '',"
             " route TEXT NOT NULL DEFAULT '',"
             " requested_model TEXT NOT NULL DEFAULT '',"
             " served_backend TEXT NOT NULL DEFAULT '',"
             " served_model TEXT NOT NULL DEFAULT '',"
             " alias TEXT NOT NULL DEFAULT '',"
             " status INTEGER NOT NULL DEFAULT 0,"
             " failovers INTEGER NOT NULL DEFAULT 0,"
             " prompt_tokens BIGINT NOT NULL DEFAULT 0,"
             " completion_tokens BIGINT NOT NULL DEFAULT 0,"
             " first_byte_ms BIGINT NOT NULL DEFAULT 0,"
             " latency_ms BIGINT NOT NULL DEFAULT 0,"
             " bytes_in BIGINT NOT NULL DEFAULT 0,"
             " bytes_out BIGINT NOT NULL DEFAULT 0,"
             " outcome TEXT NOT NULL)",
             "CREATE INDEX audit_records_by_time ON audit_records (at_ms)",
             "CREATE INDEX audit_records_by_tenant ON audit_records (tenant, at_ms)",

             // Prompt and answer text, kept apart and shorter, for tenants
             // that turned prompt logging on.
             "CREATE TABLE audit_prompts ("
             " request_id TEXT PRIMARY KEY,"
             " at_ms BIGINT NOT NULL,"
             " tenant TEXT NOT NULL,"
             " prompt TEXT NOT NULL,"
             " answer TEXT NOT NULL)",
             "CREATE INDEX audit_prompts_by_time ON audit_prompts (at_ms)",
         }},
        // 1 where the backend reported no usage and the gateway counted the
        // tokens from the text; rows written before it read 0.
        {{2, "audit_records.tokens_estimated"},
         {
             "ALTER TABLE audit_records ADD COLUMN tokens_estimated INTEGER NOT NULL DEFAULT 0",
         }},
        // Failover's trail: attempts retried on the same candidate, and who
        // continued a stream another backend broke. Older rows read 0 and ''.
        {{3, "audit_records.retries, continued_by"},
         {
             "ALTER TABLE audit_records ADD COLUMN retries INTEGER NOT NULL DEFAULT 0",
             "ALTER TABLE audit_records ADD COLUMN continued_by TEXT NOT NULL DEFAULT ''",
         }},
        // The gateway's queue for backend slots (docs/capacity.md): a
        // tenant's or key's priority class and weight ('' and 0: not set,
        // the defaults apply), and how long each request waited.
        {{4, "queue_shares; audit_records.queue_ms"},
         {
             "CREATE TABLE queue_shares ("
             " subject_kind TEXT NOT NULL CHECK (subject_kind IN ('tenant', 'key')),"
             " subject TEXT NOT NULL,"
             " priority TEXT NOT NULL DEFAULT '' CHECK (priority IN ('', 'interactive', 'batch')),"
             " weight INTEGER NOT NULL DEFAULT 0,"
             " PRIMARY KEY (subject_kind, subject))",
             "ALTER TABLE audit_records ADD COLUMN queue_ms BIGINT NOT NULL DEFAULT 0",
         }},
        // The operator console (docs/console.md): who may open it (a tenant's
        // or key's admin flag, read by the JOIN auth already runs), its
        // sessions (only a digest of each token), and the trail of changes
        // made by an operator through the console or sluicectl. The time
        // index becomes a covering one for the usage page: a range of it
        // answers requests and tokens by tenant, key or model without
        // reading the rows (a week of 1M rows: 5.9 s to 0.9 s on SQLite),
        // and it still serves every read and purge by time.
        {{5, "admin flags; console_sessions; admin_actions; covering audit_records_by_time"},
         {
             "ALTER TABLE tenants ADD COLUMN admin INTEGER NOT NULL DEFAULT 0",
             "ALTER TABLE api_keys ADD COLUMN admin INTEGER NOT NULL DEFAULT 0",
             "CREATE TABLE console_sessions ("
             " token_hash TEXT PRIMARY KEY,"
             " key_id TEXT NOT NULL,"
             " csrf_token TEXT NOT NULL,"
             " client_address TEXT NOT NULL,"
             " created_at BIGINT NOT NULL,"
             " last_seen_at BIGINT NOT NULL,"
             " expires_at BIGINT NOT NULL)",
             "CREATE INDEX console_sessions_by_key ON console_sessions (key_id)",
             "CREATE TABLE admin_actions ("
             " seq %SERIAL%,"
             " at_ms BIGINT NOT NULL,"
             " via TEXT NOT NULL,"
             " actor TEXT NOT NULL,"
             " action TEXT NOT NULL,"
             " subject TEXT NOT NULL,"
             " client_address TEXT NOT NULL DEFAULT '')",
             "CREATE INDEX admin_actions_by_time ON admin_actions (at_ms)",
             // Model names are cut at 256 bytes from now on (sluice/AuditRecord.h);
             // an older, longer one would not fit an index entry (PostgreSQL).
             "UPDATE audit_records SET requested_model = SUBSTR(requested_model, 1, 256) WHERE LENGTH(requested_model) > 256",
             "UPDATE audit_records SET served_model = SUBSTR(served_model, 1, 256) WHERE LENGTH(served_model) > 256",
             "DROP INDEX audit_records_by_time",
             "CREATE INDEX audit_records_by_time ON audit_records"
             " (at_ms, tenant, key_id, served_model, requested_model, prompt_tokens, completion_tokens)",
         }},
    };
    return kMigrations;
}

std::string forEngine(const std::string& statement, Engine engine) {
    static const std::string kSerial = "%SERIAL%";
    auto out = statement;
    const auto at = out.find(kSerial);
    if (at != std::string::npos)
        out.replace(at, kSerial.size(),
                    engine == Engine::SQLite ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "BIGSERIAL PRIMARY KEY");
    return out;
}

void ensureVersionTable(Poco::Data::Session& session) {
    session << "CREATE TABLE IF NOT EXISTS schema_migrations ("
               " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        now;
}

// Reads only: a store without the table is at version 0.
int readVersion(Database& db, Poco::Data::Session& session) {
    Poco::Data::Statement exists(session);
    exists << (db.engine() == Engine::SQLite
                   ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
                   : "SELECT COUNT(*) FROM information_schema.tables"
                     " WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"),
        now;
    Poco::Data::RecordSet tables(exists);
    if (!tables.moveFirst() || tables.value(0).convert<int>() == 0) return 0;
    Poco::Data::Statement select(session);
    select << db.sql("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"), now;
    Poco::Data::RecordSet rows(select);
    return rows.moveFirst() ? rows.value(0).convert<int>() : 0;
}

} // namespace

std::vector<MigrationInfo> knownMigrations() {
    std::vector<MigrationInfo> out;
    for (const auto& migration : migrations()) out.push_back(migration.info);
    return out;
}

int latestSchemaVersion() { return migrations().back().info.version; }

int schemaVersion(Database& db) {
    try {
        int version = 0;
        db.transaction([&](Poco::Data::Session& session) {
            if (db.engine() == Engine::PostgreSQL) session << "SET TRANSACTION READ ONLY", now;
            version = readVersion(db, session);
        });
        return version;
    } catch (const Poco::Exception& e) {
        throw StoreError("store " + db.url().display() + ": cannot read the schema version: " + e.displayText());
    }
}

std::vector<MigrationInfo> migrate(Database& db) {
    std::vector<MigrationInfo> applied;
    try {
        for (const auto& migration : migrations()) {
            bool done = false;
            db.transaction([&](Poco::Data::Session& session) {
                // Two sluicectl runs at once: the second waits here, then finds it applied.
                if (db.engine() == Engine::PostgreSQL) session << "SELECT pg_advisory_xact_lock(7261)", now;
                ensureVersionTable(session);
                if (readVersion(db, session) >= migration.info.version) return;
                for (const auto& statement : migration.statements) session << forEngine(statement, db.engine()), now;
                int version = migration.info.version;
                auto description = migration.info.description;
                Poco::Int64 at = storeNow();
                session << db.sql("INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)"),
                    use(version), use(description), use(at), now;
                done = true;
            });
            if (done) applied.push_back(migration.info);
        }
    } catch (const StoreError&) {
        throw;
    } catch (const Poco::Exception& e) {
        throw StoreError("store " + db.url().display() + ": migration failed: " + e.displayText());
    }
    return applied;
}

void requireCurrentSchema(Database& db) {
    const int version = schemaVersion(db);
    const int latest = latestSchemaVersion();
    if (version < latest)
        throw StoreError("store " + db.url().display() + " has schema version " + std::to_string(version) + ", this build needs " +
                         std::to_string(latest) + ": run `sluicectl --config FILE migrate`");
    if (version > latest)
        throw StoreError("store " + db.url().display() + " has schema version " + std::to_string(version) +
                         ", newer than this build knows (" + std::to_string(latest) + "): upgrade Sluice");
}

} // namespace sluice::store
