// cheapest-first's ordering, on the built cheapest-first-router.so: the
// lowest cost first, ties and backends without a cost in config order, open
// circuits last; a bad cost stops the start naming its key.
#include <cppunit/extensions/HelperMacros.h>

#include "sluice/testing/FakeServices.h"
#include "sluice/testing/PluginHarness.h"
#include "sluice/testing/Plans.h"
#include "sluice/testing/RequestContextBuilder.h"
#include "sluice/testing/RunTests.h"

namespace {

using Names = std::vector<std::string>;
using sluice::testing::backendsOf;
using sluice::testing::RequestContextBuilder;

class CheapestFirstRouterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CheapestFirstRouterTest);
    CPPUNIT_TEST(theCheapestHostComesFirst);
    CPPUNIT_TEST(equalCostsKeepTheConfigOrder);
    CPPUNIT_TEST(anOpenCircuitGoesLastHoweverCheap);
    CPPUNIT_TEST(aModelSomeHostsLackSkipsThem);
    CPPUNIT_TEST(badCostsStopTheStartNamingTheKey);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _plugin = std::make_unique<sluice::testing::PluginHarness>(sluice::testing::pluginUnderTest());
        _services = std::make_unique<sluice::testing::FakeServices>();
        _services->addBackend("cloud", {"llama3.2:latest", "gpt-4o"});
        _services->addBackend("unpriced", {"llama3.2:latest"});
        _services->addBackend("local", {"llama3.2:latest"});
        _services->addBackend("local-2", {"llama3.2:latest"});
    }

    void theCheapestHostComesFirst() {
        auto router = make({{"cost.cloud", "150"}, {"cost.local", "0"}, {"cost.local-2", "10"}});
        auto ctx = route(*router, "llama3.2");
        CPPUNIT_ASSERT(Names({"local", "local-2", "cloud", "unpriced"}) == backendsOf(*ctx));
        CPPUNIT_ASSERT_EQUAL(std::string("cost 0"), ctx->plan.candidates.front().reason);
        CPPUNIT_ASSERT_EQUAL(std::string("no cost set"), ctx->plan.candidates.back().reason);
    }

    void equalCostsKeepTheConfigOrder() {
        auto router = make({{"cost.cloud", "5"}, {"cost.local", "5"}, {"cost.local-2", "5"}, {"cost.unpriced", "5"}});
        CPPUNIT_ASSERT(Names({"cloud", "unpriced", "local", "local-2"}) == backendsOf(*route(*router, "llama3.2")));
    }

    void anOpenCircuitGoesLastHoweverCheap() {
        _services->healthView.open.insert("local");
        auto router = make({{"cost.cloud", "150"}, {"cost.local", "0"}, {"cost.local-2", "10"}});
        CPPUNIT_ASSERT(Names({"local-2", "cloud", "unpriced", "local"}) == backendsOf(*route(*router, "llama3.2")));
    }

    void aModelSomeHostsLackSkipsThem() {
        auto router = make({{"cost.cloud", "150"}, {"cost.local", "0"}});
        CPPUNIT_ASSERT(Names({"cloud"}) == backendsOf(*route(*router, "gpt-4o")));
    }

    void badCostsStopTheStartNamingTheKey() {
        expectRefused({{"cost.local", "-1"}}, "router.cost.local");
        expectRefused({{"cost.local", "cheap"}}, "router.cost.local");
        expectRefused({{"cost.nowhere", "1"}}, "router.cost.nowhere");
    }

private:
    std::unique_ptr<sluice::RouterStage> make(const sluice::testing::Properties& properties) {
        return _plugin->router("cheapest-first", *_services, properties);
    }

    void expectRefused(const sluice::testing::Properties& properties, const std::string& key) {
        try {
            make(properties);
            CPPUNIT_FAIL("accepted " + properties.begin()->first + " = " + properties.begin()->second);
        } catch (const sluice::ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(key, e.key());
        }
    }

    static std::unique_ptr<sluice::RequestContext> route(sluice::RouterStage& router, const std::string& model) {
        auto ctx = RequestContextBuilder().openAiChat(model).tenant("acme").build();
        CPPUNIT_ASSERT(router.route(*ctx) == sluice::Verdict::Continue);
        return ctx;
    }

    std::unique_ptr<sluice::testing::PluginHarness> _plugin;  // loaded in setUp: a missing SLUICE_PLUGIN fails a test
    std::unique_ptr<sluice::testing::FakeServices> _services;
};

CPPUNIT_TEST_SUITE_REGISTRATION(CheapestFirstRouterTest);

} // namespace

int main(int argc, char** argv) { return sluice::testing::runTests(argc, argv); }
