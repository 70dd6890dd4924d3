#pragma once
// What `sluiced --check`, `sluicectl check-config` and `sluicectl models`
// learn about a store without changing it: they create, migrate and write
// nothing (BuildPurpose::Check, sluice/Plugin.h).
//
// SQLite is checked, not opened: even a read-only open of a database in WAL
// mode leaves -wal and -shm files beside it. A file that is there must be a
// SQLite database (or empty) that this process can write, in a folder it can
// write; a file that is not there needs a place where it can be made, as
// sluiced makes and migrates it on start (its schema version is checked
// then). PostgreSQL is read in a read-only transaction and must be at exactly
// this build's schema, as sluiced requires on start.

#include "sluice/store/StoreUrl.h"

namespace sluice::store {

// Throws StoreError saying what sluiced would trip over.
void checkStore(const StoreUrl& url);

} // namespace sluice::store
