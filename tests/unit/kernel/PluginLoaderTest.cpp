// PluginLoader: real libraries from the build tree, including deliberately
// broken ones, and descriptors built by hand.
#include <cppunit/extensions/HelperMacros.h>

#include "sluice/testing/FakeServices.h"
#include "PluginLoader.h"
#include "sluice/ConfigError.h"

namespace {

void registerNothing(sluice::StageRegistry&) {}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

sluice::PluginDescriptor goodDescriptor() {
    return {sizeof(sluice::PluginDescriptor), SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR, SLUICE_BUILD_SIGNATURE,
            "hand-built", "1.0", &registerNothing};
}

class PluginLoaderTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PluginLoaderTest);
    CPPUNIT_TEST(loadsRouterAndFindsPriority);
    CPPUNIT_TEST(loadingTwiceGivesTheSamePlugin);
    CPPUNIT_TEST(loadedFactoryMakesWorkingStage);
    CPPUNIT_TEST(loadsByPath);
    CPPUNIT_TEST(wrongAbiNamesBothVersions);
    CPPUNIT_TEST(noEntryIsNotASluicePlugin);
    CPPUNIT_TEST(missingFileIsNotFound);
    CPPUNIT_TEST(checkAcceptsGoodDescriptor);
    CPPUNIT_TEST(checkRefusesNullDescriptor);
    CPPUNIT_TEST(checkRefusesNewerMinor);
    CPPUNIT_TEST(checkRefusesWrongBuildSignature);
    CPPUNIT_TEST(checkRefusesSmallStruct);
    CPPUNIT_TEST(checkRefusesNullRegisterFunction);
    CPPUNIT_TEST_SUITE_END();

public:
    void loadsRouterAndFindsPriority() {
        sluice::kernel::PluginLoader loader;
        const auto plugins = loader.load(SLUICE_PLUGIN_DIR, {"router"}, "router.plugin");
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, plugins.size());
        CPPUNIT_ASSERT_EQUAL(std::string("router"), plugins[0]->name);
        CPPUNIT_ASSERT(!plugins[0]->version.empty());
        CPPUNIT_ASSERT(contains(plugins[0]->file, "router.so"));
        CPPUNIT_ASSERT(plugins[0]->stages.routers().contains("priority"));
        CPPUNIT_ASSERT(plugins[0]->stages.auth().empty());
    }

    void loadingTwiceGivesTheSamePlugin() {
        sluice::kernel::PluginLoader loader;
        const auto first = loader.load(SLUICE_PLUGIN_DIR, {"discovery"}, "discovery.plugin");
        const auto second = loader.load(SLUICE_PLUGIN_DIR, {"discovery"}, "discovery.plugin");
        CPPUNIT_ASSERT(first.at(0) == second.at(0));
        CPPUNIT_ASSERT(first[0]->stages.discovery().contains("poll"));
    }

    void loadedFactoryMakesWorkingStage() {
        sluice::kernel::PluginLoader loader;
        const auto plugins = loader.load(SLUICE_PLUGIN_DIR, {"router"}, "router.plugin");
        sluice::testing::FakeServices services;
        services.addBackend("a", {"llama3.2:latest"});
        const sluice::StageSetup setup{"priority", services.config(), sluice::ConfigReader(services.config(), "router."),
                                       services};
        auto router = plugins[0]->stages.routers().at("priority")(setup);
        CPPUNIT_ASSERT(router != nullptr);
        sluice::RequestContext ctx;
        ctx.model = "llama3.2";
        CPPUNIT_ASSERT(router->route(ctx) == sluice::Verdict::Continue);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, ctx.plan.candidates.size());
        CPPUNIT_ASSERT_EQUAL(std::string("a"), ctx.plan.candidates[0].backend);
    }

    void loadsByPath() {
        sluice::kernel::PluginLoader loader;
        const auto plugins = loader.load("/nonexistent", {std::string(SLUICE_TEST_PLUGIN_DIR) + "/throwing.so"}, "auth.plugin");
        CPPUNIT_ASSERT_EQUAL(std::string("throwing"), plugins.at(0)->name);
        CPPUNIT_ASSERT(plugins[0]->stages.auth().contains("throwing"));
        CPPUNIT_ASSERT(plugins[0]->stages.auth().contains("bad-config"));
    }

    void wrongAbiNamesBothVersions() {
        const auto message = loadError("wrong-abi");
        const auto plugin = std::to_string(SLUICE_ABI_MAJOR + 1) + ".0";
        const auto kernel = std::to_string(SLUICE_ABI_MAJOR) + "." + std::to_string(SLUICE_ABI_MINOR);
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "plugin ABI " + plugin));
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "kernel ABI " + kernel));
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "wrong-abi.so"));
    }

    void noEntryIsNotASluicePlugin() {
        const auto message = loadError("no-entry");
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "not a Sluice plugin"));
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "no-entry.so"));
    }

    void missingFileIsNotFound() {
        const auto message = loadError("does-not-exist");
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "not found"));
        CPPUNIT_ASSERT_MESSAGE(message, contains(message, "does-not-exist.so"));
    }

    void checkAcceptsGoodDescriptor() {
        const auto descriptor = goodDescriptor();
        CPPUNIT_ASSERT_EQUAL(std::string(), sluice::checkPluginDescriptor(&descriptor));
    }

    void checkRefusesNullDescriptor() {
        CPPUNIT_ASSERT(!sluice::checkPluginDescriptor(nullptr).empty());
    }

    void checkRefusesNewerMinor() {
        auto descriptor = goodDescriptor();
        descriptor.abiMinor = SLUICE_ABI_MINOR + 1;
        const auto problem = sluice::checkPluginDescriptor(&descriptor);
        CPPUNIT_ASSERT_MESSAGE(problem, contains(problem, std::to_string(SLUICE_ABI_MAJOR) + "." +
                                                              std::to_string(SLUICE_ABI_MINOR + 1)));
    }

    void checkRefusesWrongBuildSignature() {
        auto descriptor = goodDescriptor();
        descriptor.buildSignature = "msvc-19 other-stdlib";
        auto problem = sluice::checkPluginDescriptor(&descriptor);
        CPPUNIT_ASSERT_MESSAGE(problem, contains(problem, "msvc-19 other-stdlib"));
        CPPUNIT_ASSERT_MESSAGE(problem, contains(problem, SLUICE_BUILD_SIGNATURE));
        descriptor.buildSignature = nullptr;
        problem = sluice::checkPluginDescriptor(&descriptor);
        CPPUNIT_ASSERT_MESSAGE(problem, contains(problem, SLUICE_BUILD_SIGNATURE));
    }

    void checkRefusesSmallStruct() {
        auto descriptor = goodDescriptor();
        descriptor.structSize = sizeof(sluice::PluginDescriptor) - sizeof(void*);
        const auto problem = sluice::checkPluginDescriptor(&descriptor);
        CPPUNIT_ASSERT_MESSAGE(problem, contains(problem, "too small"));
    }

    void checkRefusesNullRegisterFunction() {
        auto descriptor = goodDescriptor();
        descriptor.registerStages = nullptr;
        const auto problem = sluice::checkPluginDescriptor(&descriptor);
        CPPUNIT_ASSERT_MESSAGE(problem, contains(problem, "registration function"));
    }

private:
    // Loads a library from the test plugin directory; it must fail with a ConfigError for the key.
    static std::string loadError(const std::string& name) {
        sluice::kernel::PluginLoader loader;
        try {
            loader.load(SLUICE_TEST_PLUGIN_DIR, {name}, "auth.plugin");
        } catch (const sluice::ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("auth.plugin"), e.key());
            return e.what();
        }
        CPPUNIT_FAIL("loading " + name + " did not fail");
        return {};
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PluginLoaderTest);

} // namespace
