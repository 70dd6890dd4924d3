#include "sluice/store/StoreCheck.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "sluice/WritablePath.h"
#include "sluice/store/Database.h"
#include "sluice/store/Migrations.h"
#include "sluice/store/StoreError.h"

namespace sluice::store {

void checkStore(const StoreUrl& url) {
    if (url.engine == Engine::PostgreSQL) {
        Database db(url, 1);
        requireCurrentSchema(db);
        return;
    }
    namespace fs = std::filesystem;
    const fs::path file(url.sqlitePath);
    std::error_code error;
    if (!fs::exists(file, error)) {
        if (const auto why = whyNotWritable(file); !why.empty())
            throw StoreError("store " + url.display() + " cannot be made: " + why);
        return;
    }
    if (!fs::is_regular_file(file, error)) throw StoreError("store " + url.display() + " is not a file");
    for (const auto& place : {file, file.parent_path()})
        if (const auto why = whyNotWritable(place); !why.empty()) throw StoreError("store " + url.display() + ": " + why);
    // Every SQLite database starts with these 16 bytes; an empty file is a
    // new database to SQLite, which sluiced migrates on start.
    static constexpr char kMagic[16] = "SQLite format 3";
    char head[sizeof kMagic] = {};
    std::ifstream in(file, std::ios::binary);
    in.read(head, sizeof head);
    if (in.gcount() > 0 && (in.gcount() < static_cast<std::streamsize>(sizeof head) || std::memcmp(head, kMagic, sizeof head) != 0))
        throw StoreError("store " + url.display() + " is not a SQLite database");
}

} // namespace sluice::store
