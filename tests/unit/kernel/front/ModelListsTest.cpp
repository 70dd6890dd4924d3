// ModelLists: the gateway's own model lists, filtered by what the caller may use.
#include <cppunit/extensions/HelperMacros.h>

#include "front/ModelLists.h"

namespace {

using nlohmann::json;

class ModelListsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ModelListsTest);
    CPPUNIT_TEST(ollamaTagsFiltersByPrincipal);
    CPPUNIT_TEST(ollamaTagsShapesOpenAiEntries);
    CPPUNIT_TEST(openAiModelsShapesOllamaEntries);
    CPPUNIT_TEST(openAiModelFindsAllowedOnly);
    CPPUNIT_TEST(ollamaPsListsLoaded);
    CPPUNIT_TEST(aliasesFollowTheModelsFilteredByGrants);
    CPPUNIT_TEST(aliasShadowingAModelIsListedOnce);
    CPPUNIT_TEST(aliasListShowsChainsTheCallerMayUse);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        std::map<std::string, sluice::BackendModels> byBackend;
        byBackend["gpu"].models = {{"llama3.2:latest", {{"name", "llama3.2:latest"}, {"size", 7}}},
                                   {"qwen2:7b", {{"name", "qwen2:7b"}}}};
        byBackend["gpu"].loaded = {{"qwen2:7b", {{"name", "qwen2:7b"}}}};
        byBackend["cloud"].models = {{"gpt-4o", {{"id", "gpt-4o"}, {"object", "model"}, {"owned_by", "openai"}}}};
        _catalog = sluice::Catalog({"gpu", "cloud"}, std::move(byBackend));
        _everyone.allowAllModels = true;
    }

    void ollamaTagsFiltersByPrincipal() {
        sluice::Principal principal;
        principal.allowedModels = {"llama3.2", "gpt-4o"};
        const auto tags = sluice::kernel::ollamaTags(_catalog, _noAliases, principal);
        const auto& models = tags.at("models");
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, models.size());
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), models[0]["name"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(7, models[0]["size"].get<int>());  // the backend's own entry, untouched
        CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o"), models[1]["name"].get<std::string>());
    }

    void ollamaTagsShapesOpenAiEntries() {
        const auto models = sluice::kernel::ollamaTags(_catalog, _noAliases, _everyone).at("models");
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, models.size());
        const auto& gpt = models[2];
        CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o"), gpt.at("model").get<std::string>());
        CPPUNIT_ASSERT(gpt.at("details").is_object());
    }

    void openAiModelsShapesOllamaEntries() {
        const auto list = sluice::kernel::openAiModels(_catalog, _noAliases, _everyone);
        CPPUNIT_ASSERT_EQUAL(std::string("list"), list.at("object").get<std::string>());
        const auto& data = list.at("data");
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, data.size());
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), data[0].at("id").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("model"), data[0].at("object").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("openai"), data[2].at("owned_by").get<std::string>());
    }

    void openAiModelFindsAllowedOnly() {
        sluice::Principal principal;
        principal.allowedModels = {"llama3.2"};
        const auto found = sluice::kernel::openAiModel(_catalog, _noAliases, principal, "llama3.2");
        CPPUNIT_ASSERT(found.has_value());
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), found->at("id").get<std::string>());
        CPPUNIT_ASSERT(!sluice::kernel::openAiModel(_catalog, _noAliases, principal, "qwen2:7b"));
        CPPUNIT_ASSERT(!sluice::kernel::openAiModel(_catalog, _noAliases, _everyone, "absent"));
    }

    void ollamaPsListsLoaded() {
        const auto ps = sluice::kernel::ollamaPs(_catalog, _everyone);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, ps.at("models").size());
        CPPUNIT_ASSERT_EQUAL(std::string("qwen2:7b"), ps["models"][0]["name"].get<std::string>());
        sluice::Principal nobody;
        CPPUNIT_ASSERT(sluice::kernel::ollamaPs(_catalog, nobody).at("models").empty());
    }

    void aliasesFollowTheModelsFilteredByGrants() {
        sluice::Principal principal;
        principal.allowedModels = {"llama3.2", "team/fast"};
        const auto tags = sluice::kernel::ollamaTags(_catalog, aliases(), principal).at("models");
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, tags.size());
        CPPUNIT_ASSERT_EQUAL(std::string("team/fast"), tags[1].at("name").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("sluice-alias"), tags[1].at("details").at("family").get<std::string>());
        const auto data = sluice::kernel::openAiModels(_catalog, aliases(), _everyone).at("data");
        CPPUNIT_ASSERT_EQUAL(std::size_t{5}, data.size());  // 3 models + 2 aliases
        CPPUNIT_ASSERT_EQUAL(std::string("sluice-alias"), data[3].at("owned_by").get<std::string>());
        CPPUNIT_ASSERT(sluice::kernel::openAiModel(_catalog, aliases(), principal, "team/fast").has_value());
        CPPUNIT_ASSERT(!sluice::kernel::openAiModel(_catalog, aliases(), principal, "team/smart").has_value());
    }

    void aliasShadowingAModelIsListedOnce() {
        sluice::AliasTable shadow({{"gpt-4o", "", {{"gpu", "llama3.2"}}}}, "");
        const auto data = sluice::kernel::openAiModels(_catalog, shadow, _everyone).at("data");
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, data.size());
    }

    void aliasListShowsChainsTheCallerMayUse() {
        sluice::Principal principal;
        principal.allowedModels = {"team/smart"};
        const auto list = sluice::kernel::aliasList(aliases(), principal);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, list.at("data").size());
        const auto& smart = list["data"][0];
        CPPUNIT_ASSERT_EQUAL(std::string("team/smart"), smart.at("name").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("Big model, cloud fallback"), smart.at("description").get<std::string>());
        CPPUNIT_ASSERT(json({"gpu/qwen2:7b", "gpt-4o"}) == smart.at("chain"));
        CPPUNIT_ASSERT(smart.at("default").get<bool>());
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, sluice::kernel::aliasList(aliases(), _everyone).at("data").size());
    }

private:
    static sluice::AliasTable aliases() {
        return sluice::AliasTable({{"team/smart", "Big model, cloud fallback", {{"gpu", "qwen2:7b"}, {"", "gpt-4o"}}},
                                   {"team/fast", "", {{"", "llama3.2"}}}},
                                  "team/smart");
    }

    sluice::AliasTable _noAliases;
    sluice::Catalog _catalog;
    sluice::Principal _everyone;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ModelListsTest);

} // namespace
