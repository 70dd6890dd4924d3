// intersect: a key's model grant narrows its tenant's, never widens it; and
// principalFor: what the pipeline learns about a verified key.
#include <string>
#include <vector>

#include <cppunit/extensions/HelperMacros.h>

#include "Grants.h"

namespace {

using sluice::auth::intersect;
using sluice::auth::principalFor;
using sluice::store::ModelGrant;
using Models = std::vector<std::string>;

ModelGrant all() { return ModelGrant{true, {}}; }
ModelGrant only(Models models) { return ModelGrant{false, std::move(models)}; }

class GrantsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(GrantsTest);
    CPPUNIT_TEST(bothAllowAll);
    CPPUNIT_TEST(tenantAllowsAllKeyLists);
    CPPUNIT_TEST(tenantListsKeyAllowsAll);
    CPPUNIT_TEST(bothListKeepsCommonModelsInKeyOrder);
    CPPUNIT_TEST(latestMatchesUntaggedBothWays);
    CPPUNIT_TEST(otherTagsDoNotMatch);
    CPPUNIT_TEST(disjointIsEmpty);
    CPPUNIT_TEST(keyCannotWiden);
    CPPUNIT_TEST(principalCopiesKeyAndTenant);
    CPPUNIT_TEST(principalWithoutLimitsOrModels);
    CPPUNIT_TEST(largeLimitsDoNotWrap);
    CPPUNIT_TEST_SUITE_END();

public:
    void bothAllowAll() {
        const auto grant = intersect(all(), all());
        CPPUNIT_ASSERT(grant.allowAll);
        CPPUNIT_ASSERT(grant.models.empty());
    }

    void tenantAllowsAllKeyLists() {
        const auto grant = intersect(all(), only({"llama3.2", "qwen2:7b"}));
        CPPUNIT_ASSERT(!grant.allowAll);
        CPPUNIT_ASSERT(grant.models == Models({"llama3.2", "qwen2:7b"}));
    }

    void tenantListsKeyAllowsAll() {
        const auto grant = intersect(only({"mistral"}), all());
        CPPUNIT_ASSERT(!grant.allowAll);
        CPPUNIT_ASSERT(grant.models == Models({"mistral"}));
    }

    void bothListKeepsCommonModelsInKeyOrder() {
        const auto grant = intersect(only({"a", "b", "c"}), only({"c", "x", "a"}));
        CPPUNIT_ASSERT(!grant.allowAll);
        CPPUNIT_ASSERT(grant.models == Models({"c", "a"}));
    }

    void latestMatchesUntaggedBothWays() {
        // Tenant names the bare model, key the ":latest" tag, and the reverse.
        CPPUNIT_ASSERT(intersect(only({"llama3.2"}), only({"llama3.2:latest"})).models == Models({"llama3.2:latest"}));
        CPPUNIT_ASSERT(intersect(only({"llama3.2:latest"}), only({"llama3.2"})).models == Models({"llama3.2"}));
    }

    void otherTagsDoNotMatch() {
        CPPUNIT_ASSERT(intersect(only({"llama3.2"}), only({"llama3.2:1b"})).models.empty());
        CPPUNIT_ASSERT(intersect(only({"llama3.2:1b"}), only({"llama3.2"})).models.empty());
        CPPUNIT_ASSERT(intersect(only({"llama3"}), only({"llama3.2"})).models.empty());
    }

    void disjointIsEmpty() {
        const auto grant = intersect(only({"a", "b"}), only({"c", "d"}));
        CPPUNIT_ASSERT(!grant.allowAll);
        CPPUNIT_ASSERT(grant.models.empty());
        CPPUNIT_ASSERT(intersect(only({}), all()).models.empty());
        CPPUNIT_ASSERT(!intersect(only({}), all()).allowAll);
        CPPUNIT_ASSERT(intersect(all(), only({})).models.empty());
        CPPUNIT_ASSERT(!intersect(all(), only({})).allowAll);
    }

    void keyCannotWiden() {
        const auto grant = intersect(only({"small"}), only({"small", "large", "huge:70b"}));
        CPPUNIT_ASSERT(!grant.allowAll);
        CPPUNIT_ASSERT(grant.models == Models({"small"}));
        // A key that allows all gets exactly the tenant's list, no more.
        CPPUNIT_ASSERT(intersect(only({"small"}), all()).models == Models({"small"}));
    }

    void principalCopiesKeyAndTenant() {
        sluice::store::KeyAndTenant found;
        found.tenant.name = "acme";
        found.tenant.grant = only({"llama3.2", "qwen2"});
        found.tenant.limits.requestsPerMinute = 600;
        found.tenant.limits.tokensPerMinute = 5000000000LL;  // beyond 32 bits
        found.tenant.logPrompts = true;
        found.key.keyId = "3hT9aQ0cLm2Z";
        found.key.tenant = "acme";
        found.key.grant = only({"qwen2", "mistral"});
        found.key.limits.concurrentRequests = 3;
        found.key.limits.requestsPerMinute = 60;

        const auto principal = principalFor(found);
        CPPUNIT_ASSERT_EQUAL(std::string("acme"), principal.tenant);
        CPPUNIT_ASSERT_EQUAL(std::string("3hT9aQ0cLm2Z"), principal.keyId);
        CPPUNIT_ASSERT(principal.logPrompts);
        CPPUNIT_ASSERT(!principal.allowAllModels);
        CPPUNIT_ASSERT(principal.allowedModels == Models({"qwen2"}));
        CPPUNIT_ASSERT(principal.mayUse("qwen2:latest"));
        CPPUNIT_ASSERT(!principal.mayUse("mistral"));
        CPPUNIT_ASSERT(!principal.mayUse("llama3.2"));

        CPPUNIT_ASSERT_EQUAL(600U, principal.tenantLimits.requestsPerMinute.value());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(5000000000ULL), principal.tenantLimits.tokensPerMinute.value());
        CPPUNIT_ASSERT(!principal.tenantLimits.concurrentRequests);
        CPPUNIT_ASSERT_EQUAL(60U, principal.keyLimits.requestsPerMinute.value());
        CPPUNIT_ASSERT_EQUAL(3U, principal.keyLimits.concurrentRequests.value());
        CPPUNIT_ASSERT(!principal.keyLimits.tokensPerMinute);
    }

    void principalWithoutLimitsOrModels() {
        sluice::store::KeyAndTenant found;
        found.tenant.name = "solo";
        found.tenant.grant = all();
        found.tenant.logPrompts = false;
        found.key.keyId = "AAAAAAAAAAAA";  // the default key grant narrows nothing
        const auto principal = principalFor(found);
        CPPUNIT_ASSERT(principal.allowAllModels);
        CPPUNIT_ASSERT(principal.allowedModels.empty());
        CPPUNIT_ASSERT(!principal.logPrompts);
        CPPUNIT_ASSERT(!principal.tenantLimits.requestsPerMinute && !principal.tenantLimits.tokensPerMinute &&
                       !principal.tenantLimits.concurrentRequests);
        CPPUNIT_ASSERT(!principal.keyLimits.requestsPerMinute && !principal.keyLimits.tokensPerMinute &&
                       !principal.keyLimits.concurrentRequests);
        // A new tenant may use no model until granted.
        sluice::store::KeyAndTenant fresh;
        CPPUNIT_ASSERT(!principalFor(fresh).allowAllModels);
        CPPUNIT_ASSERT(principalFor(fresh).allowedModels.empty());
    }

    // Store limits beyond 32 bits saturate instead of wrapping to something small.
    void largeLimitsDoNotWrap() {
        sluice::store::KeyAndTenant found;
        found.tenant.name = "big";
        found.tenant.limits.requestsPerMinute = 4294967296LL;
        found.key.limits.concurrentRequests = 5000000000LL;
        const auto principal = principalFor(found);
        CPPUNIT_ASSERT_EQUAL(4294967295U, principal.tenantLimits.requestsPerMinute.value());
        CPPUNIT_ASSERT_EQUAL(4294967295U, principal.keyLimits.concurrentRequests.value());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(GrantsTest);

} // namespace
