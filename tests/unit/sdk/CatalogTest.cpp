// Catalog and sameModel: which backend hosts what, in priority order.
#include <cppunit/extensions/HelperMacros.h>

#include "sluice/Catalog.h"

namespace {

sluice::ModelEntry model(const std::string& name, int size = 0) {
    return {name, {{"name", name}, {"size", size}}};
}

class CatalogTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CatalogTest);
    CPPUNIT_TEST(sameModelMatchesLatestTagOnly);
    CPPUNIT_TEST(backendsForFollowsPriorityOrder);
    CPPUNIT_TEST(backendsForUnknownModelIsEmpty);
    CPPUNIT_TEST(resolveGivesTheBackendsOwnName);
    CPPUNIT_TEST(isLoadedReadsTheLoadedList);
    CPPUNIT_TEST(allModelsDeduplicatesFirstBackendWins);
    CPPUNIT_TEST(untaggedAndLatestAreOneModelInTheUnion);
    CPPUNIT_TEST(emptyCatalogHasNothing);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        // Priority order differs from the map's alphabetical order on purpose.
        std::map<std::string, sluice::BackendModels> byBackend;
        byBackend["zeta"].models = {model("llama3.2:latest", 1), model("qwen2:7b")};
        byBackend["zeta"].loaded = {model("llama3.2:latest", 1)};
        byBackend["alpha"].models = {model("llama3.2:1b"), model("mistral:latest")};
        byBackend["mid"].models = {model("llama3.2:latest", 2), model("mistral:latest", 3)};
        _catalog = sluice::Catalog({"zeta", "alpha", "mid"}, std::move(byBackend));
    }

    void sameModelMatchesLatestTagOnly() {
        CPPUNIT_ASSERT(sluice::sameModel("llama3.2", "llama3.2:latest"));
        CPPUNIT_ASSERT(sluice::sameModel("llama3.2:1b", "llama3.2:1b"));
        CPPUNIT_ASSERT(!sluice::sameModel("llama3.2", "llama3.2:1b"));
        // Either way round: an OpenAI-compatible server lists "llama3.2" for Ollama's "llama3.2:latest".
        CPPUNIT_ASSERT(sluice::sameModel("llama3.2:latest", "llama3.2"));
        CPPUNIT_ASSERT(!sluice::sameModel("llama3.2:1b", "llama3.2"));
        CPPUNIT_ASSERT(!sluice::sameModel("llama3", "llama3.2:latest"));
        CPPUNIT_ASSERT(!sluice::sameModel("llama3.2", "llama3.2-latest"));
    }

    void backendsForFollowsPriorityOrder() {
        CPPUNIT_ASSERT(std::vector<std::string>({"zeta", "mid"}) == _catalog.backendsFor("llama3.2"));
        CPPUNIT_ASSERT(std::vector<std::string>({"zeta", "mid"}) == _catalog.backendsFor("llama3.2:latest"));
        CPPUNIT_ASSERT(std::vector<std::string>({"alpha"}) == _catalog.backendsFor("llama3.2:1b"));
        CPPUNIT_ASSERT(std::vector<std::string>({"alpha", "mid"}) == _catalog.backendsFor("mistral"));
    }

    void backendsForUnknownModelIsEmpty() {
        CPPUNIT_ASSERT(_catalog.backendsFor("gpt-4o").empty());
        CPPUNIT_ASSERT(_catalog.backendsFor("").empty());
    }

    void resolveGivesTheBackendsOwnName() {
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), _catalog.resolve("zeta", "llama3.2").value_or("-"));
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:1b"), _catalog.resolve("alpha", "llama3.2:1b").value_or("-"));
        CPPUNIT_ASSERT(!_catalog.resolve("alpha", "llama3.2"));
        CPPUNIT_ASSERT(!_catalog.resolve("nowhere", "llama3.2"));
        std::map<std::string, sluice::BackendModels> untagged;
        untagged["vllm"].models = {model("llama3.2")};
        const sluice::Catalog vllm({"vllm"}, std::move(untagged));
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2"), vllm.resolve("vllm", "llama3.2:latest").value_or("-"));
    }

    void isLoadedReadsTheLoadedList() {
        CPPUNIT_ASSERT(_catalog.isLoaded("zeta", "llama3.2"));
        CPPUNIT_ASSERT(!_catalog.isLoaded("mid", "llama3.2"));
        CPPUNIT_ASSERT(!_catalog.isLoaded("zeta", "qwen2:7b"));
        CPPUNIT_ASSERT(!_catalog.isLoaded("nowhere", "llama3.2"));
    }

    void allModelsDeduplicatesFirstBackendWins() {
        const auto all = _catalog.allModels();
        std::vector<std::string> names;
        for (const auto& entry : all) names.push_back(entry.name);
        const std::vector<std::string> expected{"llama3.2:latest", "qwen2:7b", "llama3.2:1b", "mistral:latest"};
        CPPUNIT_ASSERT(expected == names);
        // zeta comes first in priority, so its entry (size 1) wins over mid's (size 2).
        CPPUNIT_ASSERT_EQUAL(1, all[0].entry["size"].get<int>());
        // mistral: alpha (size 0) before mid (size 3).
        CPPUNIT_ASSERT_EQUAL(0, all[3].entry["size"].get<int>());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, _catalog.allLoaded().size());
    }

    void untaggedAndLatestAreOneModelInTheUnion() {
        // An OpenAI-compatible server says "llama3.2" where Ollama says "llama3.2:latest".
        std::map<std::string, sluice::BackendModels> byBackend;
        byBackend["ollama"].models = {model("llama3.2:latest", 1)};
        byBackend["vllm"].models = {model("llama3.2", 2), model("gpt-4o")};
        const sluice::Catalog catalog({"ollama", "vllm"}, std::move(byBackend));
        const auto all = catalog.allModels();
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, all.size());
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), all[0].name);
        CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o"), all[1].name);
    }

    void emptyCatalogHasNothing() {
        const sluice::Catalog empty;
        CPPUNIT_ASSERT(empty.backendsFor("llama3.2").empty());
        CPPUNIT_ASSERT(empty.allModels().empty());
        CPPUNIT_ASSERT(!empty.resolve("zeta", "llama3.2"));
    }

private:
    sluice::Catalog _catalog;
};

CPPUNIT_TEST_SUITE_REGISTRATION(CatalogTest);

} // namespace
