// Prints what one routing decision costs for each strategy: route() on a
// catalog of 3 backends hosting the model among 200 models each, an alias
// chain of two steps, and the kernel's health view faked with fixed numbers.
// The router runs on every request thread, so this is per-request overhead.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include "AffinityRouter.h"
#include "sluice/testing/FakeServices.h"
#include "LatencyRouter.h"
#include "LeastBusyRouter.h"
#include "PriorityRouter.h"
#include "ResidentRouter.h"
#include "RoundRobinRouter.h"
#include "WeightedRouter.h"

using Clock = std::chrono::steady_clock;

namespace {

template <class Router>
void measure(const char* name, sluice::testing::FakeServices& services, const std::string& model, int calls, int rounds) {
    Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
    const sluice::StageSetup setup{name, *config, sluice::ConfigReader(*config, "router."), services};
    Router router(setup);
    const nlohmann::json body = {{"model", model},
                                 {"messages", {{{"role", "system"}, {"content", "You are a helpful assistant."}},
                                               {{"role", "user"}, {"content", "Plan a three-day trip to Lisbon."}}}}};
    std::vector<double> ns;
    std::size_t planned = 0;
    for (int round = 0; round < rounds; ++round) {
        const auto start = Clock::now();
        for (int i = 0; i < calls; ++i) {
            sluice::RequestContext ctx;
            ctx.model = model;
            ctx.body = body;
            router.route(ctx);
            planned += ctx.plan.candidates.size();
        }
        ns.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() / calls);
    }
    std::sort(ns.begin(), ns.end());
    std::printf("| %-12s | %-10s | %8.0f ns | %6.0f .. %.0f ns | %zu |\n", name, model.c_str(), ns[ns.size() / 2],
                ns.front(), ns.back(), planned / static_cast<std::size_t>(calls * rounds));
}

} // namespace

int main() {
    sluice::testing::FakeServices services;
    for (const char* name : {"gpu", "box", "spare"}) {
        std::vector<std::string> models{"llama3.2:latest"};
        for (int i = 0; i < 199; ++i) models.push_back("model-" + std::to_string(i) + ":7b");
        services.addBackend(name, models, {"llama3.2:latest"});
    }
    services.addBackend("cloud", {"gpt-4o-mini"});
    services.aliasTable = sluice::AliasTable({{"team/chat", "", {{"", "llama3.2"}, {"cloud", "gpt-4o-mini"}}}}, "");
    services.healthView.busy = {{"gpu", 3}, {"box", 1}, {"spare", 0}};
    services.healthView.firstByte = {{{"gpu", "llama3.2"}, 120.0}, {{"box", "llama3.2"}, 80.0}, {{"spare", "llama3.2"}, 300.0}};

    constexpr int calls = 20000;
    constexpr int rounds = 7;
    std::printf("route() per request, median of %d rounds of %d calls (the request context's construction included)\n\n",
                rounds, calls);
    std::printf("| strategy     | model      | median      | spread          | candidates |\n");
    std::printf("| --- | --- | --- | --- | --- |\n");
    for (const std::string model : {"llama3.2", "team/chat"}) {
        measure<sluice::router::PriorityRouter>("priority", services, model, calls, rounds);
        measure<sluice::router::RoundRobinRouter>("round-robin", services, model, calls, rounds);
        measure<sluice::router::WeightedRouter>("weighted", services, model, calls, rounds);
        measure<sluice::router::LeastBusyRouter>("least-busy", services, model, calls, rounds);
        measure<sluice::router::LatencyRouter>("latency", services, model, calls, rounds);
        measure<sluice::router::ResidentRouter>("resident", services, model, calls, rounds);
        measure<sluice::router::AffinityRouter>("affinity", services, model, calls, rounds);
    }
    return 0;
}
