#pragma once
// The store's schema, as numbered migrations applied in order and recorded in
// `schema_migrations`. A migration is never edited once released: a change is
// a new migration. `sluicectl migrate` applies them on either engine; sluiced
// applies them itself only for SQLite (one process owns that file), and with
// PostgreSQL refuses to start on an older schema rather than race other
// instances to change it.

#include <string>
#include <vector>

#include "sluice/store/Database.h"

namespace sluice::store {

struct MigrationInfo {
    int version = 0;
    std::string description;
};

// Every migration this build knows, oldest first.
std::vector<MigrationInfo> knownMigrations();
int latestSchemaVersion();

// The highest version applied to the store; 0 for an empty store. Reads
// only (on PostgreSQL in a read-only transaction): it creates nothing.
int schemaVersion(Database& db);

// Applies what is missing, each migration in its own transaction; returns
// what was applied (empty when the store was current). Safe to run from two
// processes at once on PostgreSQL (an advisory lock serialises them).
std::vector<MigrationInfo> migrate(Database& db);

// Throws StoreError unless the store is exactly at latestSchemaVersion(),
// saying what to run.
void requireCurrentSchema(Database& db);

} // namespace sluice::store
