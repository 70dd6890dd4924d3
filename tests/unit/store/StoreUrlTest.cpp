// StoreUrl: sqlite: paths, postgresql:// URLs turned into libpq key=value
// strings, and the rule that neither display() nor any error quotes the password.
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <cppunit/extensions/HelperMacros.h>

#include "sluice/store/StoreUrl.h"

namespace {

using sluice::store::Engine;
using sluice::store::StoreUrl;

const std::string kPassword = "hunter2";

// The libpq key=value pairs of a connection string (Poco's connector splits on spaces).
std::map<std::string, std::string> pairsOf(const std::string& connectionString) {
    std::map<std::string, std::string> pairs;
    std::istringstream in(connectionString);
    std::string word;
    while (in >> word) {
        const auto equals = word.find('=');
        CPPUNIT_ASSERT_MESSAGE("no '=' in " + word, equals != std::string::npos && equals > 0);
        CPPUNIT_ASSERT_MESSAGE("repeated " + word, pairs.count(word.substr(0, equals)) == 0);
        pairs[word.substr(0, equals)] = word.substr(equals + 1);
    }
    return pairs;
}

using Pairs = std::map<std::string, std::string>;
// Sluice quiets server NOTICEs unless the URL sets its own options.
const Pairs kQuiet = {{"options", "--client_min_messages=warning"}};

Pairs with(Pairs pairs, const Pairs& more = kQuiet) {
    pairs.insert(more.begin(), more.end());
    return pairs;
}

// The message of parse(url)'s std::invalid_argument, or a failure when it parses.
std::string errorOf(const std::string& url) {
    try {
        StoreUrl::parse(url);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    CPPUNIT_FAIL("parsed, but should not have: " + url);
    return {};
}

class StoreUrlTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(StoreUrlTest);
    CPPUNIT_TEST(sqliteRelativePath);
    CPPUNIT_TEST(sqliteRelativeToBaseDirectory);
    CPPUNIT_TEST(sqliteAbsolutePathIgnoresBase);
    CPPUNIT_TEST(postgresqlFullUrl);
    CPPUNIT_TEST(postgresqlDefaults);
    CPPUNIT_TEST(pairsInLibpqOrder);
    CPPUNIT_TEST(postgresSchemeAlias);
    CPPUNIT_TEST(percentEncodedCredentials);
    CPPUNIT_TEST(queryParametersBecomePairs);
    CPPUNIT_TEST(ownOptionsReplaceTheQuietDefault);
    CPPUNIT_TEST(displayNeverShowsThePassword);
    CPPUNIT_TEST(badUrlsThrow);
    CPPUNIT_TEST(errorsNeverContainThePassword);
    CPPUNIT_TEST(valuesThatWouldBreakTheConnectionString);
    CPPUNIT_TEST(unencodedAtInPasswordIsNotTakenForTheUser);
    CPPUNIT_TEST(queryParameterNameCannotInjectAPair);
    CPPUNIT_TEST_SUITE_END();

public:
    void sqliteRelativePath() {
        const auto url = StoreUrl::parse("sqlite:var/sluice.db");
        CPPUNIT_ASSERT(url.engine == Engine::SQLite);
        CPPUNIT_ASSERT_EQUAL(std::string("var/sluice.db"), url.sqlitePath);
        CPPUNIT_ASSERT(url.connectionString.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("sqlite:var/sluice.db"), url.display());
    }

    void sqliteRelativeToBaseDirectory() {
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/sluice/var/sluice.db"),
                             StoreUrl::parse("sqlite:var/sluice.db", "/etc/sluice/").sqlitePath);
        CPPUNIT_ASSERT_EQUAL(std::string("/etc/sluice/sluice.db"),
                             StoreUrl::parse("sqlite:sluice.db", "/etc/sluice").sqlitePath);
        CPPUNIT_ASSERT_EQUAL(std::string("sqlite:/etc/sluice/sluice.db"),
                             StoreUrl::parse("sqlite:sluice.db", "/etc/sluice/").display());
    }

    void sqliteAbsolutePathIgnoresBase() {
        const auto url = StoreUrl::parse("sqlite:/var/lib/sluice/keys.db", "/etc/sluice/");
        CPPUNIT_ASSERT_EQUAL(std::string("/var/lib/sluice/keys.db"), url.sqlitePath);
        CPPUNIT_ASSERT_EQUAL(std::string("sqlite:/var/lib/sluice/keys.db"), url.display());
    }

    void postgresqlFullUrl() {
        const auto url = StoreUrl::parse("postgresql://gw:" + kPassword + "@db.internal:6543/sluice");
        CPPUNIT_ASSERT(url.engine == Engine::PostgreSQL);
        CPPUNIT_ASSERT(pairsOf(url.connectionString) ==
                       with({{"host", "db.internal"}, {"port", "6543"}, {"dbname", "sluice"}, {"user", "gw"},
                             {"password", "hunter2"}}));
        CPPUNIT_ASSERT(url.sqlitePath.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("postgresql://gw@db.internal:6543/sluice"), url.display());
    }

    void postgresqlDefaults() {
        const auto url = StoreUrl::parse("postgresql://localhost/sluice");
        CPPUNIT_ASSERT(pairsOf(url.connectionString) ==
                       with({{"host", "localhost"}, {"port", "5432"}, {"dbname", "sluice"}}));
        CPPUNIT_ASSERT_EQUAL(std::string("postgresql://localhost:5432/sluice"), url.display());
        const auto userOnly = StoreUrl::parse("postgresql://gw@127.0.0.1/sluice");
        CPPUNIT_ASSERT(pairsOf(userOnly.connectionString) ==
                       with({{"host", "127.0.0.1"}, {"port", "5432"}, {"dbname", "sluice"}, {"user", "gw"}}));
    }

    void pairsInLibpqOrder() {
        const auto url = StoreUrl::parse("postgresql://gw:" + kPassword + "@db.internal:6543/sluice?sslmode=require");
        CPPUNIT_ASSERT_EQUAL(std::string("host=db.internal port=6543 dbname=sluice user=gw password=hunter2 "
                                         "sslmode=require options=--client_min_messages=warning"),
                             url.connectionString);
    }

    void postgresSchemeAlias() {
        const auto url = StoreUrl::parse("postgres://gw:" + kPassword + "@db/sluice");
        CPPUNIT_ASSERT(url.engine == Engine::PostgreSQL);
        CPPUNIT_ASSERT(pairsOf(url.connectionString) ==
                       with({{"host", "db"}, {"port", "5432"}, {"dbname", "sluice"}, {"user", "gw"},
                             {"password", "hunter2"}}));
    }

    // Percent-encoded user and password are decoded (Poco 1.11 leaves them encoded).
    void percentEncodedCredentials() {
        const auto url = StoreUrl::parse("postgresql://g%77:p%40ss%3Aw%2Frd@db/sluice");
        const auto pairs = pairsOf(url.connectionString);
        CPPUNIT_ASSERT_EQUAL(std::string("gw"), pairs.at("user"));
        CPPUNIT_ASSERT_EQUAL(std::string("p@ss:w/rd"), pairs.at("password"));
        CPPUNIT_ASSERT(url.display().find("p@ss") == std::string::npos);
        // Decoded, a space is refused like any other.
        CPPUNIT_ASSERT(errorOf("postgresql://gw:hunter%202@db/sluice").find("password") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql://g%20w:pw@db/sluice").find("user") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql://gw:hunter%5C2@db/sluice").find("hunter") == std::string::npos);
    }

    void queryParametersBecomePairs() {
        const auto url = StoreUrl::parse("postgresql://gw:" + kPassword +
                                         "@db:5433/sluice?sslmode=require&connect_timeout=5&application_name=sluice");
        CPPUNIT_ASSERT(pairsOf(url.connectionString) ==
                       with({{"host", "db"}, {"port", "5433"}, {"dbname", "sluice"}, {"user", "gw"},
                             {"password", "hunter2"}, {"sslmode", "require"}, {"connect_timeout", "5"},
                             {"application_name", "sluice"}}));
        // Query parameters are not part of the place: display() leaves them out.
        CPPUNIT_ASSERT_EQUAL(std::string("postgresql://gw@db:5433/sluice"), url.display());
    }

    void ownOptionsReplaceTheQuietDefault() {
        const auto url = StoreUrl::parse("postgresql://db/sluice?options=-cstatement_timeout%3D5000");
        CPPUNIT_ASSERT(pairsOf(url.connectionString) ==
                       Pairs({{"host", "db"}, {"port", "5432"}, {"dbname", "sluice"},
                              {"options", "-cstatement_timeout=5000"}}));
    }

    void displayNeverShowsThePassword() {
        for (const auto& url : std::vector<std::string>
             {"postgresql://gw:" + kPassword + "@db/sluice", "postgresql://:" + kPassword + "@db/sluice",
              "postgresql://gw:" + kPassword + "@db:1/sluice?sslmode=disable",
              "postgresql://gw@db/sluice?password=" + kPassword}) {
            const auto parsed = StoreUrl::parse(url);
            CPPUNIT_ASSERT_MESSAGE(url, parsed.display().find(kPassword) == std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(url, parsed.connectionString.find("password=" + kPassword) != std::string::npos);
        }
    }

    void badUrlsThrow() {
        CPPUNIT_ASSERT(errorOf("").find("expected sqlite:PATH") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("mysql://db/sluice").find("expected sqlite:PATH") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("sqlite").find("expected sqlite:PATH") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("SQLITE:x.db").find("expected sqlite:PATH") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("sqlite:").find("needs a file path") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql:///sluice").find("without a host") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql://db").find("one database name") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql://db/").find("one database name") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql://db/a/b").find("one database name") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql://db:port/sluice").find("not a valid") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql://db:70000/sluice").find("not a valid") != std::string::npos);
        // Every message starts with the key, as readAuthSettings relies on.
        for (const std::string url : {"", "sqlite:", "postgresql://db", "postgresql://db:x/s"})
            CPPUNIT_ASSERT_MESSAGE(url, errorOf(url).rfind("store.url: ", 0) == 0);
    }

    void errorsNeverContainThePassword() {
        for (const std::string& url : std::vector<std::string>{
                 "mysql://gw:" + kPassword + "@db/sluice",
                 "postgresql://gw:" + kPassword + "@/sluice",
                 "postgresql://gw:" + kPassword + "@db",
                 "postgresql://gw:" + kPassword + "@db/a/b",
                 "postgresql://gw:" + kPassword + "@db:port/sluice",
                 "postgresql://gw:" + kPassword + "@db:0x10/sluice",
                 "postgresql://gw:" + kPassword + "/x@db/sluice",   // unencoded '/' in the password
                 "postgresql://gw:" + kPassword + "?x@db/sluice",   // unencoded '?' in the password
                 "postgresql://gw:hunter'2@db/sluice",              // a quote in the password
                 "postgresql://gw:hunter\\2@db/sluice",             // a backslash in the password
                 "postgresql://gw:" + kPassword + "@db/sluice?sslmode=a%20b",
             }) {
            const auto message = errorOf(url);
            CPPUNIT_ASSERT_MESSAGE(message, message.find(kPassword) == std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(message, message.find("hunter") == std::string::npos);
        }
    }

    void valuesThatWouldBreakTheConnectionString() {
        // libpq pairs are split on spaces: a value with one is refused, naming the key.
        CPPUNIT_ASSERT(errorOf("postgresql://gw:pw@db/slu%20ice").find("dbname") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql://g w:pw@db/sluice").find("user") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql://gw:p w@db/sluice").find("password") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql://gw@db/sluice?sslmode=re%20quire").find("sslmode") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("postgresql://gw@db/sluice?options=a%0Ab").find("options") != std::string::npos);
    }

    // A raw '@' in the password is refused: the parser would split it wrongly.
    void unencodedAtInPasswordIsNotTakenForTheUser() {
        const std::string text = "postgresql://gw:hunt@er2@db/sluice";
        try {
            const auto url = StoreUrl::parse(text);
            CPPUNIT_ASSERT_MESSAGE(url.display(), url.display().find("er2") == std::string::npos);
            const auto pairs = pairsOf(url.connectionString);
            CPPUNIT_ASSERT_EQUAL(std::string("gw"), pairs.at("user"));
            CPPUNIT_ASSERT_EQUAL(std::string("hunt@er2"), pairs.at("password"));
        } catch (const std::invalid_argument& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("er2") == std::string::npos);
        }
    }

    // Query parameter names cannot smuggle a second pair into the string.
    void queryParameterNameCannotInjectAPair() {
        CPPUNIT_ASSERT(!errorOf("postgresql://gw@db/sluice?x%20host=evil").empty());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(StoreUrlTest);

} // namespace
