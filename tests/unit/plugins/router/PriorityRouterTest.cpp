// PriorityRouter against a fake kernel: hosts in config order, open circuits last.
#include <cppunit/extensions/HelperMacros.h>

#include "sluice/testing/FakeServices.h"
#include "PriorityRouter.h"

namespace {

class PriorityRouterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PriorityRouterTest);
    CPPUNIT_TEST(openCircuitGoesLast);
    CPPUNIT_TEST(allHealthyKeepsConfigOrder);
    CPPUNIT_TEST(untaggedNameFindsLatest);
    CPPUNIT_TEST(modelNobodyHostsGivesEmptyPlan);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _services = std::make_unique<sluice::testing::FakeServices>();
        _services->addBackend("a", {"qwen2:7b"});
        _services->addBackend("b", {"llama3.2:latest", "qwen2:7b"});
        _services->addBackend("c", {"llama3.2:latest"});
        _setup = std::make_unique<sluice::StageSetup>(sluice::StageSetup{
            "priority", _services->config(), sluice::ConfigReader(_services->config(), "router."), *_services});
        _router = std::make_unique<sluice::router::PriorityRouter>(*_setup);
    }

    void openCircuitGoesLast() {
        _services->healthView.open.insert("b");
        sluice::RequestContext ctx;
        ctx.model = "llama3.2:latest";
        CPPUNIT_ASSERT(_router->route(ctx) == sluice::Verdict::Continue);
        CPPUNIT_ASSERT(std::vector<std::string>({"c", "b"}) == backendsOf(ctx));
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), ctx.plan.candidates[0].upstreamModel);
        CPPUNIT_ASSERT(ctx.plan.candidates[1].reason.find("circuit open") != std::string::npos);
        CPPUNIT_ASSERT(ctx.plan.candidates[0].reason.find("circuit open") == std::string::npos);
    }

    void allHealthyKeepsConfigOrder() {
        sluice::RequestContext ctx;
        ctx.model = "qwen2:7b";
        CPPUNIT_ASSERT(_router->route(ctx) == sluice::Verdict::Continue);
        CPPUNIT_ASSERT(std::vector<std::string>({"a", "b"}) == backendsOf(ctx));
    }

    void untaggedNameFindsLatest() {
        sluice::RequestContext ctx;
        ctx.model = "llama3.2";
        _router->route(ctx);
        CPPUNIT_ASSERT(std::vector<std::string>({"b", "c"}) == backendsOf(ctx));
    }

    void modelNobodyHostsGivesEmptyPlan() {
        sluice::RequestContext ctx;
        ctx.model = "llama3.2:1b";
        CPPUNIT_ASSERT(_router->route(ctx) == sluice::Verdict::Continue);
        CPPUNIT_ASSERT(ctx.plan.candidates.empty());
        CPPUNIT_ASSERT_EQUAL(0, ctx.reply.status);
    }

private:
    static std::vector<std::string> backendsOf(const sluice::RequestContext& ctx) {
        std::vector<std::string> names;
        for (const auto& candidate : ctx.plan.candidates) names.push_back(candidate.backend);
        return names;
    }

    std::unique_ptr<sluice::testing::FakeServices> _services;
    std::unique_ptr<sluice::StageSetup> _setup;
    std::unique_ptr<sluice::router::PriorityRouter> _router;
};

CPPUNIT_TEST_SUITE_REGISTRATION(PriorityRouterTest);

} // namespace
