// redis:// URLs as operators write them, and the one-line errors for the
// rest. Neither display() nor any error message may contain the password.

#include <stdexcept>
#include <string>

#include <cppunit/extensions/HelperMacros.h>

#include "sluice/redis/RedisUrl.h"

namespace {

using sluice::redis::RedisUrl;

const std::string password = "hunter2";

// The message of parse(url)'s std::invalid_argument, or a failure when it parses.
std::string errorOf(const std::string& url) {
    try {
        RedisUrl::parse(url);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    CPPUNIT_FAIL("parsed, but should not have: " + url);
    return {};
}

class RedisUrlTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RedisUrlTest);
    CPPUNIT_TEST(hostAlone);
    CPPUNIT_TEST(portAndDatabase);
    CPPUNIT_TEST(passwordWithAndWithoutUser);
    CPPUNIT_TEST(passwordWithSpecialCharacters);
    CPPUNIT_TEST(ipv6InBrackets);
    CPPUNIT_TEST(badUrlsNameTheProblem);
    CPPUNIT_TEST(errorsNeverContainThePassword);
    CPPUNIT_TEST(displayHidesThePassword);
    CPPUNIT_TEST_SUITE_END();

public:
    void hostAlone() {
        const auto url = RedisUrl::parse("redis://cache.internal");
        CPPUNIT_ASSERT_EQUAL(std::string("cache.internal"), url.host);
        CPPUNIT_ASSERT_EQUAL(6379, url.port);
        CPPUNIT_ASSERT_EQUAL(0, url.database);
        CPPUNIT_ASSERT(url.user.empty() && url.password.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), RedisUrl::parse("REDIS://127.0.0.1/").host);
        CPPUNIT_ASSERT_EQUAL(0, RedisUrl::parse("redis://localhost/").database);
    }

    void portAndDatabase() {
        const auto url = RedisUrl::parse("redis://127.0.0.1:6380/2");
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), url.host);
        CPPUNIT_ASSERT_EQUAL(6380, url.port);
        CPPUNIT_ASSERT_EQUAL(2, url.database);
        CPPUNIT_ASSERT_EQUAL(65535, RedisUrl::parse("redis://h:65535").port);
        CPPUNIT_ASSERT_EQUAL(15, RedisUrl::parse("redis://h/15").database);
    }

    void passwordWithAndWithoutUser() {
        const auto noUser = RedisUrl::parse("redis://:" + password + "@redis:7000/1");
        CPPUNIT_ASSERT_EQUAL(password, noUser.password);
        CPPUNIT_ASSERT(noUser.user.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("redis"), noUser.host);
        CPPUNIT_ASSERT_EQUAL(7000, noUser.port);
        CPPUNIT_ASSERT_EQUAL(1, noUser.database);

        const auto withUser = RedisUrl::parse("redis://sluice:" + password + "@redis");
        CPPUNIT_ASSERT_EQUAL(std::string("sluice"), withUser.user);
        CPPUNIT_ASSERT_EQUAL(password, withUser.password);
        CPPUNIT_ASSERT_EQUAL(6379, withUser.port);
    }

    void passwordWithSpecialCharacters() {
        // Percent-encoded, as URL builders write it...
        CPPUNIT_ASSERT_EQUAL(std::string("p@ss:w/rd%"), RedisUrl::parse("redis://:p%40ss%3Aw%2Frd%25@h").password);
        // ...or written raw: the last '@' ends the credentials, the first ':' the user.
        const auto raw = RedisUrl::parse("redis://u:p@ss:w/rd@h:1/2");
        CPPUNIT_ASSERT_EQUAL(std::string("u"), raw.user);
        CPPUNIT_ASSERT_EQUAL(std::string("p@ss:w/rd"), raw.password);
        CPPUNIT_ASSERT_EQUAL(std::string("h"), raw.host);
        CPPUNIT_ASSERT_EQUAL(1, raw.port);
        CPPUNIT_ASSERT_EQUAL(2, raw.database);
    }

    void ipv6InBrackets() {
        const auto url = RedisUrl::parse("redis://[::1]:7000/3");
        CPPUNIT_ASSERT_EQUAL(std::string("::1"), url.host);
        CPPUNIT_ASSERT_EQUAL(7000, url.port);
        CPPUNIT_ASSERT_EQUAL(3, url.database);
        CPPUNIT_ASSERT_EQUAL(std::string("redis://[::1]:7000/3"), url.display());
        CPPUNIT_ASSERT_EQUAL(std::string("fe80::1%eth0"), RedisUrl::parse("redis://[fe80::1%25eth0]").host);
    }

    void badUrlsNameTheProblem() {
        const auto expect = [](const std::string& url, const std::string& problem) {
            const auto message = errorOf(url);
            CPPUNIT_ASSERT_MESSAGE(url + " -> " + message, message == "invalid Redis URL: " + problem);
        };
        expect("", "must start with redis://");
        expect("http://cache:6379", "must start with redis://");
        expect("cache:6379", "must start with redis://");
        expect("rediss://cache", "rediss:// (TLS) is not supported; use redis://");
        expect("redis://", "the host is missing");
        expect("redis://:6379", "the host is missing");
        expect("redis://ca che", "the host contains a character not allowed in a host name");
        expect("redis://cache:", "the port must be a number from 1 to 65535");
        expect("redis://cache:0", "the port must be a number from 1 to 65535");
        expect("redis://cache:65536", "the port must be a number from 1 to 65535");
        expect("redis://cache:63x9", "the port must be a number from 1 to 65535");
        expect("redis://cache:99999999999999", "the port must be a number from 1 to 65535");
        expect("redis://cache/x", "the database after '/' must be a number (0, 1, ...)");
        expect("redis://cache/-1", "the database after '/' must be a number (0, 1, ...)");
        expect("redis://cache/1/2", "the database after '/' must be a number (0, 1, ...)");
        expect("redis://cache?db=1", "query parameters and fragments are not supported");
        expect("redis://::1:6379", "an IPv6 address must be written in [] (redis://[::1]:6379)");
        expect("redis://[::1", "'[' without ']' around the IPv6 address");
        expect("redis://[::1]x", "unexpected text after the IPv6 address");
        expect("redis://[]:1", "the IPv6 address in [] is not valid");
        expect("redis://[cache]:1", "the IPv6 address in [] is not valid");
        expect("redis://secret@cache", "credentials must be written [user]:password@");
        expect("redis://user:@cache", "the password after ':' is empty");
        expect("redis://:p%4@cache", "bad %-escape in the password (write '%' as %25)");
        expect("redis://%zz:p@cache", "bad %-escape in the user name (write '%' as %25)");
    }

    void errorsNeverContainThePassword() {
        // Wherever a mistake puts the password, the message does not repeat it.
        const std::string urls[] = {
            "http://user:" + password + "@cache",
            "rediss://:" + password + "@cache",
            "redis://:" + password,                  // '@' forgotten: the password looks like a port
            "redis://" + password + "@cache",        // ':' forgotten
            "redis://" + password,                   // a valid host name: parses, nothing to leak
            "redis://:" + password + "@cache:port",
            "redis://:" + password + "@cache/db",
            "redis://:" + password + "@ca che",
            "redis://:" + password + "@cache?x=1",
            "redis://:" + password + "%@cache",
            "redis://cache:" + password,
            "redis://cache/" + password,
        };
        for (const auto& url : urls) {
            std::string message;
            try {
                RedisUrl::parse(url);
                continue;
            } catch (const std::invalid_argument& e) {
                message = e.what();
            }
            CPPUNIT_ASSERT_MESSAGE(url + " -> " + message, message.find(password) == std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(url + " -> " + message, message.find('\n') == std::string::npos);
        }
    }

    void displayHidesThePassword() {
        const auto url = RedisUrl::parse("redis://sluice:" + password + "@cache:6380/4");
        CPPUNIT_ASSERT_EQUAL(std::string("redis://sluice:***@cache:6380/4"), url.display());
        CPPUNIT_ASSERT_EQUAL(std::string("redis://:***@cache:6379/0"),
                             RedisUrl::parse("redis://:" + password + "@cache").display());
        CPPUNIT_ASSERT_EQUAL(std::string("redis://cache:6379/0"), RedisUrl::parse("redis://cache").display());
        RedisUrl built;
        built.host = "10.0.0.5";
        built.password = password;
        CPPUNIT_ASSERT(built.display().find(password) == std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RedisUrlTest);

} // namespace
