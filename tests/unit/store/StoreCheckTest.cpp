// checkStore and schemaVersion for the check commands: a SQLite store is
// judged without being opened (nothing appears beside it), and reading a
// store's schema version creates nothing, not even schema_migrations.

#include <cppunit/extensions/HelperMacros.h>

#include <fstream>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include "ScratchDir.h"
#include "sluice/store/Database.h"
#include "sluice/store/Migrations.h"
#include "sluice/store/StoreCheck.h"
#include "sluice/store/StoreError.h"

namespace {

namespace fs = std::filesystem;
using sluice::store::StoreUrl;

std::string failureOf(const StoreUrl& url) {
    try {
        sluice::store::checkStore(url);
    } catch (const sluice::store::StoreError& e) {
        return e.what();
    }
    return {};
}

std::string bytesOf(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class StoreCheckTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(StoreCheckTest);
    CPPUNIT_TEST(aMissingSqliteStoreIsFineAndNotMade);
    CPPUNIT_TEST(anExistingSqliteStoreIsNotOpened);
    CPPUNIT_TEST(whatIsNotASqliteStoreIsRefused);
    CPPUNIT_TEST(readingTheVersionCreatesNothing);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { _dir = std::make_unique<sluice::test::ScratchDir>("sluice-store-check"); }
    void tearDown() override { _dir.reset(); }

    StoreUrl sqlite(const std::string& relative) { return StoreUrl::parse("sqlite:" + (_dir->path / relative).string()); }

    void aMissingSqliteStoreIsFineAndNotMade() {
        CPPUNIT_ASSERT_EQUAL(std::string(), failureOf(sqlite("var/db/sluice.db")));
        CPPUNIT_ASSERT(fs::is_empty(_dir->path));
    }

    void anExistingSqliteStoreIsNotOpened() {
        {
            sluice::store::Database db(sqlite("sluice.db"), 1);
            sluice::store::migrate(db);
        }
        const auto before = bytesOf(_dir->path / "sluice.db");
        const auto time = fs::last_write_time(_dir->path / "sluice.db");
        const auto entries = std::distance(fs::directory_iterator(_dir->path), fs::directory_iterator());
        CPPUNIT_ASSERT_EQUAL(std::string(), failureOf(sqlite("sluice.db")));
        CPPUNIT_ASSERT(before == bytesOf(_dir->path / "sluice.db"));
        CPPUNIT_ASSERT(time == fs::last_write_time(_dir->path / "sluice.db"));
        CPPUNIT_ASSERT_EQUAL(entries, std::distance(fs::directory_iterator(_dir->path), fs::directory_iterator()));
        // An empty file is a new database to SQLite: sluiced migrates it on start.
        std::ofstream(_dir->path / "empty.db");
        CPPUNIT_ASSERT_EQUAL(std::string(), failureOf(sqlite("empty.db")));
    }

    void whatIsNotASqliteStoreIsRefused() {
        std::ofstream(_dir->path / "notes.txt") << "these are not the tables you are looking for\n";
        CPPUNIT_ASSERT(failureOf(sqlite("notes.txt")).find("is not a SQLite database") != std::string::npos);
        fs::create_directories(_dir->path / "folder.db");
        CPPUNIT_ASSERT(failureOf(sqlite("folder.db")).find("is not a file") != std::string::npos);
        const auto under = failureOf(sqlite("notes.txt/sluice.db"));
        CPPUNIT_ASSERT_MESSAGE(under, under.find("notes.txt is not a folder") != std::string::npos);
    }

    void readingTheVersionCreatesNothing() {
        sluice::store::Database db(sqlite("fresh.db"), 1);
        CPPUNIT_ASSERT_EQUAL(0, sluice::store::schemaVersion(db));
        CPPUNIT_ASSERT_THROW(sluice::store::requireCurrentSchema(db), sluice::store::StoreError);
        auto session = db.session();
        Poco::Data::Statement select(session);
        select << "SELECT COUNT(*) FROM sqlite_master", Poco::Data::Keywords::now;
        Poco::Data::RecordSet rows(select);
        CPPUNIT_ASSERT(rows.moveFirst());
        CPPUNIT_ASSERT_EQUAL(0, rows.value(0).convert<int>());
    }

private:
    std::unique_ptr<sluice::test::ScratchDir> _dir;
};

CPPUNIT_TEST_SUITE_REGISTRATION(StoreCheckTest);

} // namespace
