// The test helpers the SDK installs for plugin authors (sluice/testing/):
// the harness loads and refuses libraries exactly as sluiced does, and the
// fakes and the context builder look like what the kernel hands a stage.
#include <cppunit/extensions/HelperMacros.h>

#include "sluice/ConfigError.h"
#include "sluice/testing/FakeServices.h"
#include "sluice/testing/PluginHarness.h"
#include "sluice/testing/RequestContextBuilder.h"

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string refusal(const std::string& library) {
    try {
        sluice::testing::PluginHarness harness(library);
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

class TestingHelpersTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TestingHelpersTest);
    CPPUNIT_TEST(harnessMakesABundledRouterThatRoutes);
    CPPUNIT_TEST(harnessRefusesAsTheKernelDoes);
    CPPUNIT_TEST(harnessNamesTheFullKeyOfABadValue);
    CPPUNIT_TEST(harnessSaysWhichStageIsMissing);
    CPPUNIT_TEST(builderMakesWhatTheFrontMakes);
    CPPUNIT_TEST(fakeCatalogKeepsPriorityOrderWhenABackendIsForgotten);
    CPPUNIT_TEST_SUITE_END();

public:
    void harnessMakesABundledRouterThatRoutes() {
        sluice::testing::PluginHarness plugin(std::string(SLUICE_PLUGIN_DIR) + "/router.so");
        CPPUNIT_ASSERT_EQUAL(std::string("router"), std::string(plugin.descriptor().name));
        sluice::testing::FakeServices services;
        services.addBackend("a", {"llama3.2:latest"});
        services.addBackend("b", {"llama3.2:latest"});
        services.healthView.open.insert("a");
        auto router = plugin.router("priority", services);
        auto ctx = sluice::testing::RequestContextBuilder().ollamaChat("llama3.2").tenant("acme").build();
        CPPUNIT_ASSERT(router->route(*ctx) == sluice::Verdict::Continue);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, ctx->plan.candidates.size());
        CPPUNIT_ASSERT_EQUAL(std::string("b"), ctx->plan.candidates[0].backend);  // a's circuit is open
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), ctx->plan.candidates[0].upstreamModel);
    }

    void harnessRefusesAsTheKernelDoes() {
        const std::string dir = SLUICE_TEST_PLUGIN_DIR;
        const auto wrongAbi = refusal(dir + "/wrong-abi.so");
        CPPUNIT_ASSERT_MESSAGE(wrongAbi, contains(wrongAbi, "does not match kernel ABI " + std::to_string(SLUICE_ABI_MAJOR)));
        CPPUNIT_ASSERT_MESSAGE(wrongAbi, contains(wrongAbi, "rebuild the plugin against this SDK"));
        const auto noEntry = refusal(dir + "/no-entry.so");
        CPPUNIT_ASSERT_MESSAGE(noEntry, contains(noEntry, "is not a Sluice plugin (no sluice_plugin_entry)"));
        const auto missing = refusal(dir + "/nowhere.so");
        CPPUNIT_ASSERT_MESSAGE(missing, contains(missing, "cannot load"));
    }

    void harnessNamesTheFullKeyOfABadValue() {
        sluice::testing::PluginHarness plugin(std::string(SLUICE_PLUGIN_DIR) + "/router.so");
        sluice::testing::FakeServices services;
        try {
            plugin.router("latency", services, {{"explore_ratio", "lots"}});
            CPPUNIT_FAIL("a bad explore_ratio was accepted");
        } catch (const sluice::ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("router.explore_ratio"), e.key());
        }
    }

    void harnessSaysWhichStageIsMissing() {
        sluice::testing::PluginHarness plugin(std::string(SLUICE_PLUGIN_DIR) + "/router.so");
        sluice::testing::FakeServices services;
        try {
            plugin.auth("priority", services);
            CPPUNIT_FAIL("a router library made an auth stage");
        } catch (const std::runtime_error& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), contains(e.what(), "no auth stage named 'priority'"));
        }
    }

    void builderMakesWhatTheFrontMakes() {
        auto ctx = sluice::testing::RequestContextBuilder()
                       .openAiChat("gpt-4o", true)
                       .header("X-Forwarded-User", "ada")
                       .peer("10.0.0.5", true)
                       .clientAddress("192.0.2.7")
                       .build();
        CPPUNIT_ASSERT(ctx->route.kind == sluice::RouteKind::OpenAIChat);
        CPPUNIT_ASSERT(ctx->route.protocol == sluice::Protocol::OpenAI);
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/chat/completions"), ctx->path);
        CPPUNIT_ASSERT_EQUAL(std::string("POST"), ctx->method);
        CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o"), ctx->model);
        CPPUNIT_ASSERT(ctx->stream);
        CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o"), ctx->body.at("model").get<std::string>());
        CPPUNIT_ASSERT(ctx->header("x-forwarded-user") && *ctx->header("x-forwarded-user") == "ada");
        CPPUNIT_ASSERT_EQUAL(std::string("10.0.0.5"), ctx->peerAddress);
        CPPUNIT_ASSERT(ctx->viaTrustedProxy);
        CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.7"), ctx->clientAddress);
        CPPUNIT_ASSERT(!ctx->principal.has_value());

        auto ollama = sluice::testing::RequestContextBuilder().ollamaChat("llama3.2").tenant("acme").build();
        CPPUNIT_ASSERT(ollama->route.protocol == sluice::Protocol::Ollama);
        CPPUNIT_ASSERT(ollama->stream);  // Ollama streams unless told not to
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), ollama->clientAddress);
        CPPUNIT_ASSERT(!ollama->viaTrustedProxy);
        CPPUNIT_ASSERT_EQUAL(std::string("acme"), ollama->principal->tenant);
    }

    void fakeCatalogKeepsPriorityOrderWhenABackendIsForgotten() {
        sluice::testing::FakeCatalog catalog;
        catalog.host("a", {"llama3.2:latest"});
        catalog.host("b", {"llama3.2:latest"}, {"llama3.2:latest"});
        catalog.forget("a");
        catalog.host("a", {"llama3.2:latest"});
        const auto snapshot = catalog.snapshot();
        CPPUNIT_ASSERT(std::vector<std::string>({"a", "b"}) == snapshot->backendsFor("llama3.2"));
        CPPUNIT_ASSERT(snapshot->isLoaded("b", "llama3.2:latest"));
        CPPUNIT_ASSERT(!snapshot->isLoaded("a", "llama3.2:latest"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TestingHelpersTest);

} // namespace
