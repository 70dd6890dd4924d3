// Logging: lines held back for a batch are never lost or reordered. A
// warning writes them at once, before itself; flushLogs() writes the rest.
// (The 100 ms window itself is a timing, not asserted here.)
#include <cppunit/extensions/HelperMacros.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <Poco/Logger.h>
#include <Poco/Util/MapConfiguration.h>

#include "Logging.h"

namespace {

class LoggingTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LoggingTest);
    CPPUNIT_TEST(aWarningWritesTheLinesBeforeIt);
    CPPUNIT_TEST(flushWritesWhatWaits);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _path = std::filesystem::temp_directory_path() / ("sluice-logging-test-" + std::to_string(::getpid()) + ".log");
        std::filesystem::remove(_path);
        Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
        config->setString("log.path", _path.string());
        sluice::kernel::configureLogging(*config);
    }

    void tearDown() override {
        Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
        sluice::kernel::configureLogging(*config);  // back to standard output; the file's channel is let go
        std::filesystem::remove(_path);
    }

    void aWarningWritesTheLinesBeforeIt() {
        auto& log = Poco::Logger::get("sluice.test");
        log.information("first line");
        log.information("second line");
        log.warning("third line");
        // No wait: the warning's write carried the two before it.
        const auto text = fileText();
        const auto first = text.find("first line");
        const auto second = text.find("second line");
        const auto third = text.find("third line");
        CPPUNIT_ASSERT_MESSAGE(text, first != std::string::npos && second != std::string::npos && third != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text, first < second && second < third);
    }

    void flushWritesWhatWaits() {
        Poco::Logger::get("sluice.test").information("a line held back");
        sluice::kernel::flushLogs();
        CPPUNIT_ASSERT(fileText().find("a line held back") != std::string::npos);
    }

private:
    std::string fileText() const {
        std::ifstream in(_path);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

    std::filesystem::path _path;
};

CPPUNIT_TEST_SUITE_REGISTRATION(LoggingTest);

} // namespace
