// loadConfig: include files, ${env.NAME} expansion, and the errors on both.
#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "Config.h"
#include "sluice/ConfigError.h"

namespace {

namespace fs = std::filesystem;

class ConfigTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ConfigTest);
    CPPUNIT_TEST(readsPlainFile);
    CPPUNIT_TEST(includeIsRelativeToIncludingFile);
    CPPUNIT_TEST(includingFileWins);
    CPPUNIT_TEST(expandsEnvironmentInValues);
    CPPUNIT_TEST(unsetEnvironmentNamesTheKey);
    CPPUNIT_TEST(expandEnvironmentDirect);
    CPPUNIT_TEST(missingFileIsConfigError);
    CPPUNIT_TEST(missingIncludeIsConfigError);
    CPPUNIT_TEST(includeCycleStops);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        std::string pattern = (fs::temp_directory_path() / "sluice-config-test-XXXXXX").string();
        CPPUNIT_ASSERT(::mkdtemp(pattern.data()) != nullptr);
        _dir = pattern;
        ::setenv("SLUICE_UNIT_TOKEN", "tok-123", 1);
        ::unsetenv("SLUICE_UNIT_UNSET");
    }

    void tearDown() override {
        std::error_code ignored;
        fs::remove_all(_dir, ignored);
        ::unsetenv("SLUICE_UNIT_TOKEN");
    }

    void readsPlainFile() {
        write("main.properties", "listen.port = 8080\nbackends = a, b\n");
        const auto config = sluice::kernel::loadConfig(path("main.properties"));
        CPPUNIT_ASSERT_EQUAL(std::string("8080"), config->getString("listen.port"));
        CPPUNIT_ASSERT_EQUAL(std::string("a, b"), config->getString("backends"));
        CPPUNIT_ASSERT(!config->hasProperty("include"));
    }

    void includeIsRelativeToIncludingFile() {
        write("main.properties", "include = conf/base.properties\nmain.key = main\n");
        write("conf/base.properties", "include = more.properties\nbase.key = base\n");
        write("conf/more.properties", "more.key = more\n");
        const auto config = sluice::kernel::loadConfig(path("main.properties"));
        CPPUNIT_ASSERT_EQUAL(std::string("main"), config->getString("main.key"));
        CPPUNIT_ASSERT_EQUAL(std::string("base"), config->getString("base.key"));
        CPPUNIT_ASSERT_EQUAL(std::string("more"), config->getString("more.key"));
    }

    void includingFileWins() {
        write("main.properties", "include = one.properties, two.properties\nshared = main\n");
        write("one.properties", "shared = one\nonly.one = 1\nlater = one\n");
        write("two.properties", "shared = two\nlater = two\n");
        const auto config = sluice::kernel::loadConfig(path("main.properties"));
        CPPUNIT_ASSERT_EQUAL(std::string("main"), config->getString("shared"));
        CPPUNIT_ASSERT_EQUAL(std::string("1"), config->getString("only.one"));
        // Of two included files, the one listed later wins.
        CPPUNIT_ASSERT_EQUAL(std::string("two"), config->getString("later"));
    }

    void expandsEnvironmentInValues() {
        write("base.properties", "backends.a.auth.token = ${env.SLUICE_UNIT_TOKEN}\n");
        write("main.properties", "include = base.properties\nheader = pre-${env.SLUICE_UNIT_TOKEN}-post\n");
        const auto config = sluice::kernel::loadConfig(path("main.properties"));
        CPPUNIT_ASSERT_EQUAL(std::string("tok-123"), config->getString("backends.a.auth.token"));
        CPPUNIT_ASSERT_EQUAL(std::string("pre-tok-123-post"), config->getString("header"));
    }

    void unsetEnvironmentNamesTheKey() {
        write("main.properties", "listen.port = 8080\nbackends.a.auth.token = ${env.SLUICE_UNIT_UNSET}\n");
        try {
            sluice::kernel::loadConfig(path("main.properties"));
            CPPUNIT_FAIL("no error for an unset variable");
        } catch (const sluice::ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("backends.a.auth.token"), e.key());
            CPPUNIT_ASSERT(std::string(e.what()).find("SLUICE_UNIT_UNSET") != std::string::npos);
        }
    }

    void expandEnvironmentDirect() {
        using sluice::kernel::expandEnvironment;
        CPPUNIT_ASSERT_EQUAL(std::string("plain"), expandEnvironment("k", "plain"));
        CPPUNIT_ASSERT_EQUAL(std::string("tok-123/tok-123"),
                             expandEnvironment("k", "${env.SLUICE_UNIT_TOKEN}/${env.SLUICE_UNIT_TOKEN}"));
        // Poco's own ${key} references are left for Poco to resolve.
        CPPUNIT_ASSERT_EQUAL(std::string("${other.key}"), expandEnvironment("k", "${other.key}"));
        for (const char* bad : {"${env.SLUICE_UNIT_UNSET}", "${env.}", "${env.SLUICE_UNIT_TOKEN"}) {
            try {
                expandEnvironment("some.key", bad);
                CPPUNIT_FAIL(std::string("no error for ") + bad);
            } catch (const sluice::ConfigError& e) {
                CPPUNIT_ASSERT_EQUAL(std::string("some.key"), e.key());
            }
        }
    }

    void missingFileIsConfigError() {
        try {
            sluice::kernel::loadConfig(path("absent.properties"));
            CPPUNIT_FAIL("no error for a missing file");
        } catch (const sluice::ConfigError& e) {
            CPPUNIT_ASSERT(std::string(e.what()).find("absent.properties") != std::string::npos);
        }
    }

    void missingIncludeIsConfigError() {
        write("main.properties", "include = nowhere.properties\n");
        try {
            sluice::kernel::loadConfig(path("main.properties"));
            CPPUNIT_FAIL("no error for a missing include");
        } catch (const sluice::ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("include"), e.key());
            CPPUNIT_ASSERT(std::string(e.what()).find("nowhere.properties") != std::string::npos);
        }
    }

    void includeCycleStops() {
        write("a.properties", "include = b.properties\na = 1\n");
        write("b.properties", "include = a.properties\nb = 1\n");
        CPPUNIT_ASSERT_THROW(sluice::kernel::loadConfig(path("a.properties")), sluice::ConfigError);
        write("self.properties", "include = self.properties\n");
        try {
            sluice::kernel::loadConfig(path("self.properties"));
            CPPUNIT_FAIL("no error for a file including itself");
        } catch (const sluice::ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("include"), e.key());
        }
    }

private:
    std::string path(const std::string& name) const { return (_dir / name).string(); }

    void write(const std::string& name, const std::string& text) const {
        fs::create_directories((_dir / name).parent_path());
        std::ofstream out(_dir / name);
        out << text;
        CPPUNIT_ASSERT(out.good());
    }

    fs::path _dir;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigTest);

} // namespace
