// Prints what one rate-limit admission (and its release) costs: in-process,
// and in Redis on loopback (a redis-server started here on a free port, or
// the one named by the first argument). Two scopes per request, as with a
// key and its tenant, with all three limits on.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "LocalCounterStore.h"
#include "RedisCounterStore.h"
#include "RedisServer.h"

using Clock = std::chrono::steady_clock;
using namespace sluice::ratelimit;

namespace {

// Median and spread of `rounds` rounds of `calls` admit+release pairs, in µs per pair.
void measure(const char* what, CounterStore& store, int calls, int rounds) {
    std::vector<double> us;
    std::uint64_t sequence = 0;
    for (int round = 0; round < rounds; ++round) {
        const auto start = Clock::now();
        for (int i = 0; i < calls; ++i) {
            // Limits high enough never to refuse: the cost measured is the bookkeeping.
            const Ticket ticket{{{"tenant:bench", 1'000'000'000, 1'000'000'000, 1'000'000},
                                 {"key:bench", 1'000'000'000, 1'000'000'000, 1'000'000}},
                                "lease-" + std::to_string(++sequence)};
            if (store.admit(ticket).result != Admission::Result::Admitted) std::fprintf(stderr, "not admitted\n");
            store.release(ticket, 10);
        }
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count() / calls);
    }
    std::sort(us.begin(), us.end());
    std::printf("| %-34s | %9.2f us | %7.2f .. %.2f us |\n", what, us[us.size() / 2], us.front(), us.back());
}

} // namespace

int main(int argc, char** argv) {
    std::printf("| admission + release, 2 scopes       | median       | spread              |\n");
    std::printf("| ---------------------------------- | ------------ | ------------------- |\n");
    LocalCounterStore local;
    measure("in-process", local, 20000, 5);

    std::unique_ptr<sluice::test::RedisServer> server;
    std::string url = argc > 1 ? argv[1] : "";
    if (url.empty()) {
        server = std::make_unique<sluice::test::RedisServer>();
        url = server->url();
    }
    RedisCounterStore redis(std::make_shared<sluice::redis::Client>(sluice::redis::RedisUrl::parse(url), std::chrono::seconds(2)),
                            std::chrono::seconds(600), "sluice:bench:");
    measure("Redis on loopback (2 round trips)", redis, 2000, 5);
    return 0;
}
