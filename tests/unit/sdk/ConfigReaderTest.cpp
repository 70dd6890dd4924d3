// ConfigReader: every bad value is a ConfigError naming the full key.
#include <cppunit/extensions/HelperMacros.h>

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include "sluice/ConfigReader.h"

namespace {

class ConfigReaderTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ConfigReaderTest);
    CPPUNIT_TEST(integerReadsTrimmedValue);
    CPPUNIT_TEST(integerMissingUsesFallback);
    CPPUNIT_TEST(integerOutOfRangeNamesFullKey);
    CPPUNIT_TEST(integerNonNumberIsRefused);
    CPPUNIT_TEST(flagAcceptsEveryBooleanSpelling);
    CPPUNIT_TEST(flagRefusesOtherWords);
    CPPUNIT_TEST(listTrimsAndDropsEmptyItems);
    CPPUNIT_TEST(requiredTextMissingIsRefused);
    CPPUNIT_TEST(millisRefusesZero);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { _config = new Poco::Util::MapConfiguration; }

    void integerReadsTrimmedValue() {
        _config->setString("level", "  42 ");
        sluice::ConfigReader reader(*_config, "limits.");
        CPPUNIT_ASSERT_EQUAL(std::int64_t{42}, reader.integer("level", 7, 1, 100));
        _config->setString("level", "-5");
        CPPUNIT_ASSERT_EQUAL(std::int64_t{-5}, reader.integer("level", 7, -10, 100));
    }

    void integerMissingUsesFallback() {
        sluice::ConfigReader reader(*_config);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{7}, reader.integer("absent", 7, 1, 100));
        _config->setString("blank", "   ");
        CPPUNIT_ASSERT_EQUAL(std::int64_t{9}, reader.integer("blank", 9, 1, 100));
    }

    void integerOutOfRangeNamesFullKey() {
        sluice::ConfigReader reader(*_config, "limits.");
        for (const char* value : {"0", "101"}) {
            _config->setString("level", value);
            try {
                reader.integer("level", 7, 1, 100);
                CPPUNIT_FAIL(std::string("no error for ") + value);
            } catch (const sluice::ConfigError& e) {
                CPPUNIT_ASSERT_EQUAL(std::string("limits.level"), e.key());
                CPPUNIT_ASSERT(std::string(e.what()).find("out of range [1, 100]") != std::string::npos);
            }
        }
    }

    void integerNonNumberIsRefused() {
        sluice::ConfigReader reader(*_config, "limits.");
        for (const char* value : {"ten", "12abc", "1.5", "0x10"}) {
            _config->setString("level", value);
            try {
                reader.integer("level", 7, 0, 1000);
                CPPUNIT_FAIL(std::string("no error for ") + value);
            } catch (const sluice::ConfigError& e) {
                CPPUNIT_ASSERT_EQUAL(std::string("limits.level"), e.key());
                CPPUNIT_ASSERT(std::string(e.what()).find("not a whole number") != std::string::npos);
            }
        }
    }

    void flagAcceptsEveryBooleanSpelling() {
        sluice::ConfigReader reader(*_config);
        for (const char* value : {"true", "TRUE", "on", "yes", "1", " Yes "}) {
            _config->setString("enabled", value);
            CPPUNIT_ASSERT_MESSAGE(value, reader.flag("enabled", false));
        }
        for (const char* value : {"false", "False", "off", "no", "0"}) {
            _config->setString("enabled", value);
            CPPUNIT_ASSERT_MESSAGE(value, !reader.flag("enabled", true));
        }
        CPPUNIT_ASSERT(reader.flag("absent", true));
        CPPUNIT_ASSERT(!reader.flag("absent", false));
    }

    void flagRefusesOtherWords() {
        _config->setString("enabled", "maybe");
        sluice::ConfigReader reader(*_config, "audit.");
        try {
            reader.flag("enabled", false);
            CPPUNIT_FAIL("no error for 'maybe'");
        } catch (const sluice::ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("audit.enabled"), e.key());
        }
    }

    void listTrimsAndDropsEmptyItems() {
        _config->setString("names", " a , b,,c ,  ,");
        sluice::ConfigReader reader(*_config);
        const std::vector<std::string> expected{"a", "b", "c"};
        CPPUNIT_ASSERT(expected == reader.list("names"));
        CPPUNIT_ASSERT(reader.list("absent").empty());
        _config->setString("single", "only");
        CPPUNIT_ASSERT(std::vector<std::string>{"only"} == reader.list("single"));
    }

    void requiredTextMissingIsRefused() {
        sluice::ConfigReader reader(*_config, "router.");
        _config->setString("blank", "  ");
        for (const char* key : {"absent", "blank"}) {
            try {
                reader.requiredText(key);
                CPPUNIT_FAIL(std::string("no error for ") + key);
            } catch (const sluice::ConfigError& e) {
                CPPUNIT_ASSERT_EQUAL("router." + std::string(key), e.key());
            }
        }
        _config->setString("name", " x ");
        CPPUNIT_ASSERT_EQUAL(std::string("x"), reader.requiredText("name"));
    }

    void millisRefusesZero() {
        sluice::ConfigReader reader(*_config);
        CPPUNIT_ASSERT_EQUAL(std::int64_t{250}, static_cast<std::int64_t>(reader.millis("t", std::chrono::milliseconds(250)).count()));
        _config->setString("t", "1500");
        CPPUNIT_ASSERT_EQUAL(std::int64_t{1500}, static_cast<std::int64_t>(reader.millis("t", std::chrono::milliseconds(250)).count()));
        _config->setString("t", "0");
        CPPUNIT_ASSERT_THROW(reader.millis("t", std::chrono::milliseconds(250)), sluice::ConfigError);
    }

private:
    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigReaderTest);

} // namespace
