// Logging: lines held back for a batch are never lost or reordered. A
// warning writes them at once, before itself; flushLogs() writes the rest.
// An access line carries the audit record's fields, text and JSON alike.
// (The 100 ms window itself is a timing, not asserted here.)
#include <cppunit/extensions/HelperMacros.h>

#include <filesystem>
#include <limits>
#include <fstream>
#include <sstream>
#include <string>

#include <Poco/DateTimeFormatter.h>
#include <Poco/Logger.h>
#include <Poco/Util/MapConfiguration.h>

#include <nlohmann/json.hpp>

#include "Logging.h"
#include "sluice/AuditRecord.h"

namespace {

class LoggingTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LoggingTest);
    CPPUNIT_TEST(aWarningWritesTheLinesBeforeIt);
    CPPUNIT_TEST(flushWritesWhatWaits);
    CPPUNIT_TEST(anAccessLineHasEveryFieldInOrder);
    CPPUNIT_TEST(aJsonAccessLineHasTheFieldsTyped);
    CPPUNIT_TEST(aLineStartsWithItsTimeAsPocoWroteIt);
    CPPUNIT_TEST(valuesAreEscapedAndQuotedAsBefore);
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

    // The text line's time is written by hand (not by Poco's
    // DateTimeFormatter): the same bytes, across a leap day, a year's end and
    // the epoch.
    void aLineStartsWithItsTimeAsPocoWroteIt() {
        auto& log = Poco::Logger::get("sluice.test");
        const Poco::Timestamp::TimeVal times[] = {0, 1709251199999999LL, 1767225599999000LL, 1764619750025000LL,
                                                  951782400000001LL};
        for (const auto at : times) {
            Poco::Message message("sluice.test", "at " + std::to_string(at), Poco::Message::PRIO_INFORMATION);
            message.setTime(Poco::Timestamp(at));
            log.log(message);
        }
        sluice::kernel::flushLogs();
        std::istringstream lines(fileText());
        std::string line;
        for (const auto at : times) {
            CPPUNIT_ASSERT(std::getline(lines, line));
            const auto expected =
                Poco::DateTimeFormatter::format(Poco::Timestamp(at), "%Y-%m-%d %H:%M:%S.%i ") + "Information sluice.test: at " +
                std::to_string(at);
            CPPUNIT_ASSERT_EQUAL(expected, line);
        }
    }

    void valuesAreEscapedAndQuotedAsBefore() {
        const auto value = [](std::string_view in) {
            std::string out;
            sluice::kernel::appendLogValue(in, out);
            return out;
        };
        const auto text = [](std::string_view in) {
            std::string out;
            sluice::kernel::appendLogText(in, out);
            return out;
        };
        CPPUNIT_ASSERT_EQUAL(std::string("plain"), value("plain"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\""), value(""));
        // A control character alone is escaped, not quoted.
        CPPUNIT_ASSERT_EQUAL(std::string("tab\\there"), value("tab\there"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"a b\\\"c\\\\d\\ne=f\""), value("a b\"c\\d\ne=f"));
        CPPUNIT_ASSERT_EQUAL(std::string("x\\x01\\x7fy\\r\\n"), text(std::string_view("x\x01\x7fy\r\n")));
        CPPUNIT_ASSERT_EQUAL(std::string("a \"b\" = \\"), text("a \"b\" = \\"));
    }

    void anAccessLineHasEveryFieldInOrder() {
        sluice::kernel::logAccess(sample(), "https", {{"traceparent", "00-abc-def-01"}});
        sluice::kernel::flushLogs();
        const auto text = fileText();
        // The audit record's fields but request id and time, in alphabetical
        // order, numbers and flags as JSON writes them, a value with a blank quoted.
        const std::string fields =
            "/api/chat 200 ok alias=\"\" bytes_in=120 bytes_out=18446744073709551615 client_address=10.0.0.7 "
            "completion_tokens=9 continued_by=\"\" failovers=1 first_byte_ms=13 key_id=k-1 latency_ms=0 "
            "outcome=ok prompt_tokens=4 queue_ms=0 requested_model=\"my model\" retries=2 route=/api/chat scheme=https "
            "served_backend=gpu served_model=llama3.2 status=200 tenant=team tokens_estimated=true "
            "traceparent=00-abc-def-01\n";
        CPPUNIT_ASSERT_MESSAGE(text, text.size() >= fields.size() && text.compare(text.size() - fields.size(), fields.size(), fields) == 0);
        CPPUNIT_ASSERT_MESSAGE(text, text.find("Information sluice.access") != std::string::npos);
    }

    void aJsonAccessLineHasTheFieldsTyped() {
        Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
        config->setString("log.path", _path.string());
        config->setString("log.format", "json");
        sluice::kernel::configureLogging(*config);
        sluice::kernel::logAccess(sample(), "http", {});
        sluice::kernel::flushLogs();
        auto text = fileText();
        const auto line = nlohmann::json::parse(text.substr(text.rfind('{')));
        CPPUNIT_ASSERT_EQUAL(std::string("sluice.access"), line["logger"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("my model"), line["requested_model"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(200, line["status"].get<int>());
        CPPUNIT_ASSERT_EQUAL(std::numeric_limits<std::uint64_t>::max(), line["bytes_out"].get<std::uint64_t>());
        CPPUNIT_ASSERT(line["tokens_estimated"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(std::string("http"), line["scheme"].get<std::string>());
        CPPUNIT_ASSERT(!line.contains("at_ms"));
    }

private:
    static sluice::AuditRecord sample() {
        sluice::AuditRecord record;
        record.requestId = "r-1";
        record.tenant = "team";
        record.keyId = "k-1";
        record.clientAddress = "10.0.0.7";
        record.route = "/api/chat";
        record.requestedModel = "my model";
        record.servedBackend = "gpu";
        record.servedModel = "llama3.2";
        record.status = 200;
        record.failovers = 1;
        record.retries = 2;
        record.tokensIn = 4;
        record.tokensOut = 9;
        record.tokensEstimated = true;
        record.timeToFirstByteMs = 12.6;
        record.latencyMs = -1;
        record.bytesIn = 120;
        record.bytesOut = std::numeric_limits<std::uint64_t>::max();
        return record;
    }

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
