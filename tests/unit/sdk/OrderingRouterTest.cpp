// OrderingRouter and candidateSteps: a model's hosts or an alias's chain
// become the plan, ordered per step by the strategy, open circuits last.
#include <cppunit/extensions/HelperMacros.h>

#include "sluice/testing/FakeServices.h"
#include "sluice/OrderingRouter.h"

namespace {

using Names = std::vector<std::string>;

// A strategy that reverses each step, so the test sees where order() applies.
class ReversingRouter final : public sluice::OrderingRouter {
public:
    using OrderingRouter::OrderingRouter;

protected:
    void order(const sluice::RequestContext&, std::vector<sluice::Candidate>& step) override {
        std::reverse(step.begin(), step.end());
        ++calls;
    }

public:
    int calls = 0;
};

Names labels(const sluice::RoutePlan& plan) {
    Names out;
    for (const auto& c : plan.candidates) out.push_back(c.backend + "/" + c.upstreamModel);
    return out;
}

class OrderingRouterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(OrderingRouterTest);
    CPPUNIT_TEST(modelIsOneStepOfItsHosts);
    CPPUNIT_TEST(aliasChainIsStepsInChainOrder);
    CPPUNIT_TEST(pairIsKeptBeforeDiscoverySawIt);
    CPPUNIT_TEST(repeatedTargetsAppearOnce);
    CPPUNIT_TEST(openCircuitsGoLastAcrossSteps);
    CPPUNIT_TEST(unknownModelGivesEmptyPlan);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _services = std::make_unique<sluice::testing::FakeServices>();
        _services->addBackend("gpu", {"gemma3:12b", "llama3.2:latest"});
        _services->addBackend("box", {"llama3.2:latest"});
        _services->addBackend("groq", {"llama-3.1-70b"});
        _services->aliasTable = sluice::AliasTable(
            {{"team/smart", "", {{"gpu", "gemma3:12b"}, {"groq", "llama-3.1-70b"}}},
             {"team/any", "", {{"", "llama3.2"}, {"groq", "llama-3.1-70b"}}},
             {"team/later", "", {{"groq", "llama-3.3-70b"}}},
             {"team/twice", "", {{"", "llama3.2"}, {"gpu", "llama3.2"}, {"box", "llama3.2"}}}},
            "");
        _router = std::make_unique<ReversingRouter>(*_services);
    }

    sluice::RoutePlan route(const std::string& model) {
        sluice::RequestContext ctx;
        ctx.model = model;
        CPPUNIT_ASSERT(_router->route(ctx) == sluice::Verdict::Continue);
        return ctx.plan;
    }

    void modelIsOneStepOfItsHosts() {
        const auto plan = route("llama3.2");
        CPPUNIT_ASSERT(Names({"box/llama3.2:latest", "gpu/llama3.2:latest"}) == labels(plan));  // config order, reversed by the strategy
        CPPUNIT_ASSERT(plan.alias.empty());
        CPPUNIT_ASSERT_EQUAL(1, _router->calls);
    }

    void aliasChainIsStepsInChainOrder() {
        const auto plan = route("team/any");
        // Step 1 (any host of llama3.2) reversed, then step 2.
        CPPUNIT_ASSERT(Names({"box/llama3.2:latest", "gpu/llama3.2:latest", "groq/llama-3.1-70b"}) == labels(plan));
        CPPUNIT_ASSERT_EQUAL(std::string("team/any"), plan.alias);
        CPPUNIT_ASSERT_EQUAL(2, _router->calls);
    }

    void pairIsKeptBeforeDiscoverySawIt() {
        const auto plan = route("team/later");
        CPPUNIT_ASSERT(Names({"groq/llama-3.3-70b"}) == labels(plan));
    }

    void repeatedTargetsAppearOnce() {
        const auto plan = route("team/twice");
        CPPUNIT_ASSERT(Names({"box/llama3.2:latest", "gpu/llama3.2:latest"}) == labels(plan));
    }

    void openCircuitsGoLastAcrossSteps() {
        _services->healthView.open.insert("gpu");
        const auto plan = route("team/smart");
        CPPUNIT_ASSERT(Names({"groq/llama-3.1-70b", "gpu/gemma3:12b"}) == labels(plan));
        CPPUNIT_ASSERT(plan.candidates[1].reason.find("circuit open") != std::string::npos);
    }

    void unknownModelGivesEmptyPlan() {
        CPPUNIT_ASSERT(route("mistral").candidates.empty());
        CPPUNIT_ASSERT(sluice::candidateSteps("mistral", *_services->catalog(), _services->aliases()).empty());
    }

private:
    std::unique_ptr<sluice::testing::FakeServices> _services;
    std::unique_ptr<ReversingRouter> _router;
};

CPPUNIT_TEST_SUITE_REGISTRATION(OrderingRouterTest);

} // namespace
