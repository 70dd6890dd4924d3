// whyNotWritable: says whether a path could be written or made, and makes
// nothing while finding out.

#include <cppunit/extensions/HelperMacros.h>

#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include "ScratchDir.h"
#include "sluice/WritablePath.h"

namespace {

namespace fs = std::filesystem;

class WritablePathTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(WritablePathTest);
    CPPUNIT_TEST(existingPlacesAreWritable);
    CPPUNIT_TEST(aMissingPathIsWritableWhereItCouldBeMadeAndIsNotMade);
    CPPUNIT_TEST(aFileOnTheWayIsNotAFolder);
    CPPUNIT_TEST(aReadOnlyFolderIsNotWritable);
    CPPUNIT_TEST_SUITE_END();

public:
    void existingPlacesAreWritable() {
        sluice::test::ScratchDir dir("sluice-writable");
        std::ofstream(dir.path / "file") << "x";
        CPPUNIT_ASSERT_EQUAL(std::string(), sluice::whyNotWritable(dir.path));
        CPPUNIT_ASSERT_EQUAL(std::string(), sluice::whyNotWritable(dir.path / "file"));
    }

    void aMissingPathIsWritableWhereItCouldBeMadeAndIsNotMade() {
        sluice::test::ScratchDir dir("sluice-writable");
        CPPUNIT_ASSERT_EQUAL(std::string(), sluice::whyNotWritable(dir.path / "a" / "b" / "store.db"));
        CPPUNIT_ASSERT_EQUAL(std::string(), sluice::whyNotWritable(dir.path / "a" / ".." / "c" / "spill/"));
        CPPUNIT_ASSERT(fs::is_empty(dir.path));
    }

    void aFileOnTheWayIsNotAFolder() {
        sluice::test::ScratchDir dir("sluice-writable");
        std::ofstream(dir.path / "file") << "x";
        const auto why = sluice::whyNotWritable(dir.path / "file" / "spill");
        CPPUNIT_ASSERT_EQUAL((dir.path / "file").string() + " is not a folder", why);
    }

    void aReadOnlyFolderIsNotWritable() {
        if (::geteuid() == 0) return;  // root writes anywhere: nothing to see
        sluice::test::ScratchDir dir("sluice-writable");
        fs::create_directories(dir.path / "locked");
        ::chmod((dir.path / "locked").c_str(), 0500);
        const auto why = sluice::whyNotWritable(dir.path / "locked" / "new" / "store.db");
        ::chmod((dir.path / "locked").c_str(), 0700);
        CPPUNIT_ASSERT_EQUAL((dir.path / "locked").string() + " is not writable", why);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(WritablePathTest);

} // namespace
