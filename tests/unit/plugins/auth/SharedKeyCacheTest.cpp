// The Principal as the shared Redis entry carries it: principalToJson and
// principalFromJson round-trip every field, with limits absent or present.
#include <string>
#include <vector>

#include <cppunit/extensions/HelperMacros.h>
#include <nlohmann/json.hpp>

#include "SharedKeyCache.h"

namespace {

using sluice::Principal;
using sluice::auth::principalFromJson;
using sluice::auth::principalToJson;

void assertSameLimits(const sluice::PrincipalLimits& expected, const sluice::PrincipalLimits& actual) {
    CPPUNIT_ASSERT(expected.requestsPerMinute == actual.requestsPerMinute);
    CPPUNIT_ASSERT(expected.tokensPerMinute == actual.tokensPerMinute);
    CPPUNIT_ASSERT(expected.concurrentRequests == actual.concurrentRequests);
}

void assertSame(const Principal& expected, const Principal& actual) {
    CPPUNIT_ASSERT_EQUAL(expected.tenant, actual.tenant);
    CPPUNIT_ASSERT_EQUAL(expected.keyId, actual.keyId);
    assertSameLimits(expected.tenantLimits, actual.tenantLimits);
    assertSameLimits(expected.keyLimits, actual.keyLimits);
    CPPUNIT_ASSERT_EQUAL(expected.allowAllModels, actual.allowAllModels);
    CPPUNIT_ASSERT(expected.allowedModels == actual.allowedModels);
    CPPUNIT_ASSERT_EQUAL(expected.logPrompts, actual.logPrompts);
}

class SharedKeyCacheTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SharedKeyCacheTest);
    CPPUNIT_TEST(entryKeyNamesTheKeyId);
    CPPUNIT_TEST(roundTripWithoutLimits);
    CPPUNIT_TEST(roundTripWithAllLimits);
    CPPUNIT_TEST(roundTripWithSomeLimits);
    CPPUNIT_TEST(absentLimitsAreLeftOut);
    CPPUNIT_TEST(damagedJsonThrows);
    CPPUNIT_TEST_SUITE_END();

public:
    void entryKeyNamesTheKeyId() {
        CPPUNIT_ASSERT_EQUAL(std::string("sluice:auth:key:3hT9aQ0cLm2Z"), sluice::auth::redisEntryKey("3hT9aQ0cLm2Z"));
    }

    void roundTripWithoutLimits() {
        Principal principal;
        principal.tenant = "acme";
        principal.keyId = "3hT9aQ0cLm2Z";
        principal.allowAllModels = true;
        principal.logPrompts = false;
        const auto back = principalFromJson(principalToJson(principal));
        assertSame(principal, back);
        CPPUNIT_ASSERT(!back.tenantLimits.requestsPerMinute);
        CPPUNIT_ASSERT(!back.keyLimits.tokensPerMinute);
    }

    void roundTripWithAllLimits() {
        Principal principal;
        principal.tenant = "tenant with \"quotes\" and \xc3\xa9";
        principal.keyId = "AAAAAAAAAAAA";
        principal.tenantLimits.requestsPerMinute = 4000000000U;
        principal.tenantLimits.tokensPerMinute = 9000000000000ULL;
        principal.tenantLimits.concurrentRequests = 0;  // present even when zero
        principal.keyLimits.requestsPerMinute = 60;
        principal.keyLimits.tokensPerMinute = 1;
        principal.keyLimits.concurrentRequests = 2;
        principal.allowAllModels = false;
        principal.allowedModels = {"llama3.2", "qwen2:7b", "hf.co/org/model:Q4_K_M"};
        principal.logPrompts = true;
        const auto back = principalFromJson(principalToJson(principal));
        assertSame(principal, back);
        CPPUNIT_ASSERT_EQUAL(0U, back.tenantLimits.concurrentRequests.value());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(9000000000000ULL), back.tenantLimits.tokensPerMinute.value());
    }

    void roundTripWithSomeLimits() {
        Principal principal;
        principal.tenant = "t";
        principal.keyId = "k";
        principal.tenantLimits.tokensPerMinute = 100000;
        principal.keyLimits.concurrentRequests = 4;
        principal.allowedModels = {};
        const auto back = principalFromJson(principalToJson(principal));
        assertSame(principal, back);
        CPPUNIT_ASSERT(!back.tenantLimits.requestsPerMinute);
        CPPUNIT_ASSERT(!back.keyLimits.requestsPerMinute);
        CPPUNIT_ASSERT(!back.allowAllModels);
        CPPUNIT_ASSERT(back.allowedModels.empty());
    }

    void absentLimitsAreLeftOut() {
        Principal principal;
        principal.keyLimits.requestsPerMinute = 7;
        const auto json = nlohmann::json::parse(principalToJson(principal));
        CPPUNIT_ASSERT(json.at("tenant_limits").is_object());
        CPPUNIT_ASSERT(json.at("tenant_limits").empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), json.at("key_limits").size());
        CPPUNIT_ASSERT_EQUAL(7, json.at("key_limits").at("rpm").get<int>());
    }

    void damagedJsonThrows() {
        CPPUNIT_ASSERT_THROW(principalFromJson("not json"), nlohmann::json::exception);
        CPPUNIT_ASSERT_THROW(principalFromJson("{}"), nlohmann::json::exception);
        auto json = nlohmann::json::parse(principalToJson(Principal{}));
        json["key_limits"]["rpm"] = "sixty";
        CPPUNIT_ASSERT_THROW(principalFromJson(json.dump()), nlohmann::json::exception);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SharedKeyCacheTest);

} // namespace
