// CorsPolicy: which origins `server.cors.origins` admits (exact, any case,
// a trailing slash forgiven, `*`), entries that are not origins refused, and
// the preflight's allowed headers taken from the request, names only.
#include <stdexcept>
#include <string>

#include <cppunit/extensions/HelperMacros.h>

#include "front/CorsPolicy.h"

namespace {

using sluice::kernel::CorsPolicy;
using sluice::kernel::HeaderList;

std::string valueOf(const HeaderList& headers, const std::string& name) {
    for (const auto& [key, value] : headers)
        if (key == name) return value;
    return "(absent)";
}

class CorsPolicyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CorsPolicyTest);
    CPPUNIT_TEST(nothingConfiguredAllowsNothing);
    CPPUNIT_TEST(listedOriginsOnly);
    CPPUNIT_TEST(starAllowsAny);
    CPPUNIT_TEST(entriesThatAreNotOriginsAreRefused);
    CPPUNIT_TEST(preflightEchoesHeaderNamesOnly);
    CPPUNIT_TEST_SUITE_END();

public:
    void nothingConfiguredAllowsNothing() {
        const CorsPolicy none;
        CPPUNIT_ASSERT(!none.enabled());
        CPPUNIT_ASSERT(!none.allows("https://chat.example.com"));
    }

    void listedOriginsOnly() {
        const CorsPolicy policy({"https://chat.example.com/", "http://localhost:3000"});
        CPPUNIT_ASSERT(policy.enabled());
        CPPUNIT_ASSERT(policy.allows("https://chat.example.com"));
        CPPUNIT_ASSERT(policy.allows("HTTPS://Chat.Example.com"));
        CPPUNIT_ASSERT(policy.allows("http://localhost:3000"));
        CPPUNIT_ASSERT(!policy.allows("http://localhost:3001"));
        CPPUNIT_ASSERT(!policy.allows("https://chat.example.com.evil.net"));
        CPPUNIT_ASSERT(!policy.allows("null"));
        CPPUNIT_ASSERT(!policy.allows(""));
        const auto headers = policy.answerHeaders("https://chat.example.com");
        CPPUNIT_ASSERT_EQUAL(std::string("https://chat.example.com"), valueOf(headers, "Access-Control-Allow-Origin"));
        CPPUNIT_ASSERT_EQUAL(std::string("Origin"), valueOf(headers, "Vary"));
        CPPUNIT_ASSERT(valueOf(headers, "Access-Control-Expose-Headers").find("X-Request-ID") != std::string::npos);
    }

    void starAllowsAny() {
        const CorsPolicy any({"*"});
        CPPUNIT_ASSERT(any.allows("https://anything.example"));
        CPPUNIT_ASSERT(!any.allows(std::string(600, 'a')));
    }

    void entriesThatAreNotOriginsAreRefused() {
        for (const std::string bad : {"chat.example.com", "https://chat.example.com/app", "ftp://x", "https://", "https://a b"})
            CPPUNIT_ASSERT_THROW_MESSAGE(bad, CorsPolicy({bad}), std::invalid_argument);
    }

    void preflightEchoesHeaderNamesOnly() {
        const CorsPolicy policy({"https://chat.example.com"});
        const auto headers =
            policy.preflightHeaders("https://chat.example.com", "Authorization, content-type,x-stainless-os, bad\r\nx: y, ");
        CPPUNIT_ASSERT_EQUAL(std::string("Authorization, content-type, x-stainless-os"),
                             valueOf(headers, "Access-Control-Allow-Headers"));
        CPPUNIT_ASSERT(valueOf(headers, "Access-Control-Allow-Methods").find("POST") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("600"), valueOf(headers, "Access-Control-Max-Age"));
        CPPUNIT_ASSERT_EQUAL(std::string("(absent)"),
                             valueOf(policy.preflightHeaders("https://chat.example.com", ""), "Access-Control-Allow-Headers"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CorsPolicyTest);

} // namespace
