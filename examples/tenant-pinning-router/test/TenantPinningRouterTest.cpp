// tenant-pinning's ordering, on the built tenant-pinning-router.so: a
// tenant's own pool first, then the shared pool, then every other host;
// open circuits last; a pool naming an unknown backend stops the start.
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

class TenantPinningRouterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TenantPinningRouterTest);
    CPPUNIT_TEST(aTenantGoesToItsPoolThenTheSharedOne);
    CPPUNIT_TEST(aTenantWithoutAPoolGoesToTheSharedPool);
    CPPUNIT_TEST(anOpenCircuitGoesLastEvenInTheTenantsPool);
    CPPUNIT_TEST(onlyBackendsHostingTheModelAreCandidates);
    CPPUNIT_TEST(aPoolNamingAnUnknownBackendStopsTheStart);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _plugin = std::make_unique<sluice::testing::PluginHarness>(sluice::testing::pluginUnderTest());
        _services = std::make_unique<sluice::testing::FakeServices>();
        _services->addBackend("shared-1", {"llama3.2:latest"});
        _services->addBackend("acme-1", {"llama3.2:latest"});
        _services->addBackend("acme-2", {"llama3.2:latest", "qwen2.5:latest"});
        _services->addBackend("spare", {"llama3.2:latest"});
        _router = _plugin->router("tenant-pinning", *_services,
                                  {{"pinning.pools.acme", "acme-2, acme-1"}, {"pinning.shared", "shared-1"}});
    }

    void aTenantGoesToItsPoolThenTheSharedOne() {
        auto ctx = route(RequestContextBuilder().ollamaChat("llama3.2").tenant("acme"));
        CPPUNIT_ASSERT(Names({"acme-2", "acme-1", "shared-1", "spare"}) == backendsOf(*ctx));
        CPPUNIT_ASSERT_EQUAL(std::string("tenant pool"), ctx->plan.candidates.front().reason);
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), ctx->plan.candidates.front().upstreamModel);
    }

    void aTenantWithoutAPoolGoesToTheSharedPool() {
        auto ctx = route(RequestContextBuilder().openAiChat("llama3.2").tenant("globex"));
        CPPUNIT_ASSERT(Names({"shared-1", "acme-1", "acme-2", "spare"}) == backendsOf(*ctx));
        CPPUNIT_ASSERT_EQUAL(std::string("shared pool"), ctx->plan.candidates.front().reason);
        CPPUNIT_ASSERT_EQUAL(std::string("unpinned"), ctx->plan.candidates.back().reason);
    }

    void anOpenCircuitGoesLastEvenInTheTenantsPool() {
        _services->healthView.open.insert("acme-2");
        auto ctx = route(RequestContextBuilder().ollamaChat("llama3.2").tenant("acme"));
        CPPUNIT_ASSERT(Names({"acme-1", "shared-1", "spare", "acme-2"}) == backendsOf(*ctx));
    }

    void onlyBackendsHostingTheModelAreCandidates() {
        auto qwen = route(RequestContextBuilder().ollamaChat("qwen2.5").tenant("globex"));
        CPPUNIT_ASSERT(Names({"acme-2"}) == backendsOf(*qwen));
        auto unknown = route(RequestContextBuilder().ollamaChat("mistral").tenant("acme"));
        CPPUNIT_ASSERT(unknown->plan.candidates.empty());  // the kernel answers 403
    }

    void aPoolNamingAnUnknownBackendStopsTheStart() {
        try {
            _plugin->router("tenant-pinning", *_services, {{"pinning.pools.acme", "acme-1, acme-9"}});
            CPPUNIT_FAIL("a pool with an unknown backend was accepted");
        } catch (const sluice::ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("router.pinning.pools.acme"), e.key());
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("acme-9") != std::string::npos);
        }
    }

private:
    std::unique_ptr<sluice::RequestContext> route(const RequestContextBuilder& builder) {
        auto ctx = builder.build();
        CPPUNIT_ASSERT(_router->route(*ctx) == sluice::Verdict::Continue);
        return ctx;
    }

    std::unique_ptr<sluice::testing::PluginHarness> _plugin;  // loaded in setUp: a missing SLUICE_PLUGIN fails a test
    std::unique_ptr<sluice::testing::FakeServices> _services;
    std::unique_ptr<sluice::RouterStage> _router;
};

CPPUNIT_TEST_SUITE_REGISTRATION(TenantPinningRouterTest);

} // namespace

int main(int argc, char** argv) { return sluice::testing::runTests(argc, argv); }
