// Each routing strategy's ordering against a fake kernel, deterministic:
// fixed in-flight counts, latency averages, loaded models and seeds.
#include <cppunit/extensions/HelperMacros.h>

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include "AffinityRouter.h"
#include "sluice/testing/FakeServices.h"
#include "LatencyRouter.h"
#include "LeastBusyRouter.h"
#include "ResidentRouter.h"
#include "RoundRobinRouter.h"
#include "WeightedRouter.h"

namespace {

using Names = std::vector<std::string>;

nlohmann::json chat(const std::string& system, const std::string& firstUser, const std::string& later = {}) {
    auto messages = nlohmann::json::array({{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", firstUser}}});
    if (!later.empty()) {
        messages.push_back({{"role", "assistant"}, {"content", "ok"}});
        messages.push_back({{"role", "user"}, {"content", later}});
    }
    return {{"model", "llama3.2"}, {"messages", messages}};
}

class StrategiesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(StrategiesTest);
    CPPUNIT_TEST(roundRobinRotatesTheFirstHost);
    CPPUNIT_TEST(roundRobinTurnsAreCountedPerHostSet);
    CPPUNIT_TEST(roundRobinSkipsAnOpenHostEvenly);
    CPPUNIT_TEST(weightedSpreadsByWeightSmoothly);
    CPPUNIT_TEST(leastBusyOrdersByInFlight);
    CPPUNIT_TEST(latencyPutsTheFastestFirstAndUntimedBeforeIt);
    CPPUNIT_TEST(latencyExploresWithItsRatio);
    CPPUNIT_TEST(latencyRefusesABadRatio);
    CPPUNIT_TEST(residentPrefersLoadedThenLeastBusy);
    CPPUNIT_TEST(affinityKeepsAConversationOnOneBackend);
    CPPUNIT_TEST(affinitySpreadsConversations);
    CPPUNIT_TEST(affinityTakesOddMessagesInItsStride);
    CPPUNIT_TEST(affinityMovesOnlyTheDeadBackendsConversations);
    CPPUNIT_TEST(affinityAddingABackendMovesFewConversations);
    CPPUNIT_TEST(strategiesApplyWithinAliasSteps);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _services = std::make_unique<sluice::testing::FakeServices>();
        _services->addBackend("a", {"llama3.2:latest"}, {}, 3);
        _services->addBackend("b", {"llama3.2:latest"}, {}, 1);
        _services->addBackend("c", {"llama3.2:latest"}, {"llama3.2:latest"}, 1);
        _config = new Poco::Util::MapConfiguration;
    }

    template <class Router>
    std::unique_ptr<Router> make() {
        return std::make_unique<Router>(
            sluice::StageSetup{"test", *_config, sluice::ConfigReader(*_config, "router."), *_services});
    }

    static Names route(sluice::RouterStage& router, const nlohmann::json& body = chat("s", "u")) {
        sluice::RequestContext ctx;
        ctx.model = body.value("model", std::string("llama3.2"));
        ctx.body = body;
        CPPUNIT_ASSERT(router.route(ctx) == sluice::Verdict::Continue);
        Names order;
        for (const auto& candidate : ctx.plan.candidates) order.push_back(candidate.backend);
        return order;
    }

    void roundRobinRotatesTheFirstHost() {
        auto router = make<sluice::router::RoundRobinRouter>();
        CPPUNIT_ASSERT(Names({"a", "b", "c"}) == route(*router));
        CPPUNIT_ASSERT(Names({"b", "c", "a"}) == route(*router));
        CPPUNIT_ASSERT(Names({"c", "a", "b"}) == route(*router));
        CPPUNIT_ASSERT(Names({"a", "b", "c"}) == route(*router));
    }

    void roundRobinTurnsAreCountedPerHostSet() {
        // An alias of two steps calls order() twice per request; each step
        // must still rotate (one shared counter would advance by two).
        _services->addBackend("cloud", {"gpt-4o"});
        _services->aliasTable = sluice::AliasTable({{"team/chat", "", {{"", "llama3.2"}, {"cloud", "gpt-4o"}}}}, "");
        auto router = make<sluice::router::RoundRobinRouter>();
        std::string firsts;
        for (int i = 0; i < 6; ++i) firsts += route(*router, {{"model", "team/chat"}}).front();
        CPPUNIT_ASSERT_EQUAL(std::string("abcabc"), firsts);
    }

    void roundRobinSkipsAnOpenHostEvenly() {
        _services->healthView.open.insert("a");
        auto router = make<sluice::router::RoundRobinRouter>();
        std::map<std::string, int> firsts;
        for (int i = 0; i < 10; ++i) {
            const auto order = route(*router);
            firsts[order.front()]++;
            CPPUNIT_ASSERT_EQUAL(std::string("a"), order.back());
        }
        CPPUNIT_ASSERT_EQUAL(5, firsts["b"]);
        CPPUNIT_ASSERT_EQUAL(5, firsts["c"]);
    }

    void weightedSpreadsByWeightSmoothly() {
        auto router = make<sluice::router::WeightedRouter>();
        std::string firsts;
        for (int i = 0; i < 10; ++i) firsts += route(*router).front();
        // Weights 3:1:1: each cycle of 5 picks a three times, interleaved (not "aaabc").
        CPPUNIT_ASSERT_EQUAL(std::string("abacaabaca"), firsts);
        // The heaviest backend follows the pick as the first failover.
        const auto order = route(*router);
        CPPUNIT_ASSERT(order.front() == "a" || order[1] == "a");
    }

    void leastBusyOrdersByInFlight() {
        auto router = make<sluice::router::LeastBusyRouter>();
        _services->healthView.busy = {{"a", 3}, {"b", 0}, {"c", 1}};
        CPPUNIT_ASSERT(Names({"b", "c", "a"}) == route(*router));
        _services->healthView.busy = {{"a", 1}, {"b", 1}, {"c", 1}};
        CPPUNIT_ASSERT(Names({"a", "b", "c"}) == route(*router));  // ties keep config order
    }

    void latencyPutsTheFastestFirstAndUntimedBeforeIt() {
        _config->setString("explore_ratio", "0");
        auto router = make<sluice::router::LatencyRouter>();
        _services->healthView.firstByte = {{{"a", "llama3.2:latest"}, 900.0}, {{"b", "llama3.2:latest"}, 40.0}, {{"c", "llama3.2:latest"}, 200.0}};
        CPPUNIT_ASSERT(Names({"b", "c", "a"}) == route(*router));
        _services->healthView.firstByte.erase({"a", "llama3.2:latest"});
        CPPUNIT_ASSERT(Names({"a", "b", "c"}) == route(*router));
    }

    void latencyExploresWithItsRatio() {
        _config->setString("explore_ratio", "0.5");
        _config->setString("seed", "42");
        auto router = make<sluice::router::LatencyRouter>();
        _services->healthView.firstByte = {{{"a", "llama3.2:latest"}, 900.0}, {{"b", "llama3.2:latest"}, 40.0}, {{"c", "llama3.2:latest"}, 200.0}};
        int explored = 0;
        for (int i = 0; i < 200; ++i) {
            const auto order = route(*router);
            CPPUNIT_ASSERT_EQUAL(std::size_t{3}, order.size());
            if (order.front() != "b") ++explored;
        }
        // About half explore; a fixed seed makes the count repeatable.
        CPPUNIT_ASSERT(explored > 60 && explored < 140);
        _config->setString("explore_ratio", "0");
        auto steady = make<sluice::router::LatencyRouter>();
        for (int i = 0; i < 50; ++i) CPPUNIT_ASSERT_EQUAL(std::string("b"), route(*steady).front());
    }

    void latencyRefusesABadRatio() {
        for (const char* bad : {"1.5", "-0.1", "often", "0.1x"}) {
            _config->setString("explore_ratio", bad);
            CPPUNIT_ASSERT_THROW_MESSAGE(bad, make<sluice::router::LatencyRouter>(), sluice::ConfigError);
        }
    }

    void residentPrefersLoadedThenLeastBusy() {
        auto router = make<sluice::router::ResidentRouter>();
        _services->healthView.busy = {{"a", 2}, {"b", 1}, {"c", 5}};
        CPPUNIT_ASSERT(Names({"c", "b", "a"}) == route(*router));
    }

    void affinityKeepsAConversationOnOneBackend() {
        auto router = make<sluice::router::AffinityRouter>();
        const auto first = route(*router, chat("You are terse.", "Plan my trip"));
        // Later turns of the same conversation share its prefix.
        CPPUNIT_ASSERT(first == route(*router, chat("You are terse.", "Plan my trip", "And the hotel?")));
        CPPUNIT_ASSERT(first == route(*router, chat("You are terse.", "Plan my trip", "Thanks")));
    }

    void affinitySpreadsConversations() {
        auto router = make<sluice::router::AffinityRouter>();
        std::map<std::string, int> firsts;
        for (int i = 0; i < 300; ++i) firsts[route(*router, chat("s", "conversation " + std::to_string(i))).front()]++;
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, firsts.size());
        for (const auto& [backend, count] : firsts) CPPUNIT_ASSERT_MESSAGE(backend, count > 60);
    }

    void affinityTakesOddMessagesInItsStride() {
        auto router = make<sluice::router::AffinityRouter>();
        const nlohmann::json odd = {{"model", "llama3.2"},
                                    {"messages", {{{"role", nullptr}, {"content", 7}}, {{"role", 3}}, "not an object"}}};
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, route(*router, odd).size());
        CPPUNIT_ASSERT(route(*router, odd) == route(*router, odd));
    }

    void affinityMovesOnlyTheDeadBackendsConversations() {
        auto router = make<sluice::router::AffinityRouter>();
        std::vector<Names> before;
        for (int i = 0; i < 200; ++i) before.push_back(route(*router, chat("s", "c" + std::to_string(i))));
        _services->healthView.open.insert("b");
        for (int i = 0; i < 200; ++i) {
            const auto after = route(*router, chat("s", "c" + std::to_string(i)));
            if (before[i].front() != "b") {
                CPPUNIT_ASSERT_EQUAL(before[i].front(), after.front());
            } else {
                CPPUNIT_ASSERT_EQUAL(before[i][1], after.front());  // its own second choice
                CPPUNIT_ASSERT_EQUAL(std::string("b"), after.back());
            }
        }
    }

    void affinityAddingABackendMovesFewConversations() {
        auto router = make<sluice::router::AffinityRouter>();
        std::vector<std::string> before;
        for (int i = 0; i < 1000; ++i) before.push_back(route(*router, chat("s", "c" + std::to_string(i))).front());
        _services->addBackend("d", {"llama3.2:latest"});
        int moved = 0;
        for (int i = 0; i < 1000; ++i) {
            const auto now = route(*router, chat("s", "c" + std::to_string(i))).front();
            if (now != before[i]) {
                ++moved;
                CPPUNIT_ASSERT_EQUAL(std::string("d"), now);  // only to the new backend
            }
        }
        CPPUNIT_ASSERT(moved > 150 && moved < 350);  // about a quarter
    }

    void strategiesApplyWithinAliasSteps() {
        _services->addBackend("cloud", {"gpt-4o"});
        _services->aliasTable = sluice::AliasTable({{"team/chat", "", {{"", "llama3.2"}, {"cloud", "gpt-4o"}}}}, "");
        auto router = make<sluice::router::LeastBusyRouter>();
        _services->healthView.busy = {{"a", 3}, {"b", 0}, {"c", 1}, {"cloud", 0}};
        sluice::RequestContext ctx;
        ctx.model = "team/chat";
        router->route(ctx);
        Names order;
        for (const auto& candidate : ctx.plan.candidates) order.push_back(candidate.backend + "/" + candidate.upstreamModel);
        CPPUNIT_ASSERT(Names({"b/llama3.2:latest", "c/llama3.2:latest", "a/llama3.2:latest", "cloud/gpt-4o"}) == order);
    }

private:
    std::unique_ptr<sluice::testing::FakeServices> _services;
    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
};

CPPUNIT_TEST_SUITE_REGISTRATION(StrategiesTest);

} // namespace
