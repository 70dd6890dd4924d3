// Principal::mayUse: the model allow-list, with Ollama's ":latest" default tag.
#include <cppunit/extensions/HelperMacros.h>

#include "sluice/Principal.h"

namespace {

class PrincipalTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PrincipalTest);
    CPPUNIT_TEST(untaggedAllowMatchesLatestOnly);
    CPPUNIT_TEST(latestAllowMatchesUntaggedRequest);
    CPPUNIT_TEST(allowAllModelsAllowsAnything);
    CPPUNIT_TEST(emptyListAllowsNothing);
    CPPUNIT_TEST_SUITE_END();

public:
    void untaggedAllowMatchesLatestOnly() {
        sluice::Principal principal;
        principal.allowedModels = {"llama3.2"};
        CPPUNIT_ASSERT(principal.mayUse("llama3.2"));
        CPPUNIT_ASSERT(principal.mayUse("llama3.2:latest"));
        CPPUNIT_ASSERT(!principal.mayUse("llama3.2:1b"));
        CPPUNIT_ASSERT(!principal.mayUse("llama3"));
    }

    void latestAllowMatchesUntaggedRequest() {
        sluice::Principal principal;
        principal.allowedModels = {"qwen2:latest", "mistral:7b"};
        CPPUNIT_ASSERT(principal.mayUse("qwen2"));
        CPPUNIT_ASSERT(principal.mayUse("mistral:7b"));
        CPPUNIT_ASSERT(!principal.mayUse("mistral"));
    }

    void allowAllModelsAllowsAnything() {
        sluice::Principal principal;
        principal.allowAllModels = true;
        CPPUNIT_ASSERT(principal.mayUse("anything:at-all"));
    }

    void emptyListAllowsNothing() {
        const sluice::Principal principal;
        CPPUNIT_ASSERT(!principal.mayUse("llama3.2"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PrincipalTest);

} // namespace
