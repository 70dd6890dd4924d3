// The rate limiter's Redis store against a real redis-server: the three
// limits, all-or-nothing admission across scopes, leases that expire, keys
// that expire, exact counts across instances, and StoreFailed (never a throw)
// while Redis is away.
// Over 400 lines: the cases share one real redis-server and its helpers;
// split, each part would start its own.

#include <atomic>
#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <cppunit/extensions/HelperMacros.h>

#include "RedisCounterStore.h"
#include "RedisServer.h"
#include "TestHelpers.h"
#include "sluice/redis/Redis.h"

namespace sluice::test {

namespace {

using namespace std::chrono_literals;
using sluice::ratelimit::Admission;
using sluice::ratelimit::Millis;
using sluice::ratelimit::RedisCounterStore;
using sluice::ratelimit::ScopeLimits;
using sluice::ratelimit::Ticket;
using sluice::redis::Client;
using sluice::redis::RedisUrl;
using Clock = std::chrono::steady_clock;
using Result = Admission::Result;

std::string nextLeaseId() {
    static std::atomic<int> counter{0};
    return "req-" + std::to_string(++counter);
}

ScopeLimits limits(const std::string& scope, std::uint64_t rpm, std::uint64_t tpm = 0, std::uint64_t concurrent = 0) {
    return ScopeLimits{scope, rpm, tpm, concurrent};
}

Ticket ticket(std::vector<ScopeLimits> scopes) { return Ticket{std::move(scopes), nextLeaseId()}; }

// How many times Redis ran `command`, from INFO commandstats (0 if never).
long long callsOf(Client& client, const std::string& command) {
    const auto info = client.command({"INFO", "commandstats"}).string();
    std::smatch match;
    if (!std::regex_search(info, match, std::regex("cmdstat_" + command + ":calls=(\\d+)"))) return 0;
    return std::stoll(match[1].str());
}

// Redis's own clock in ms, the one the store's scripts use.
long long serverNowMs(Client& client) {
    const auto time = client.command({"TIME"}).array();
    return std::stoll(time.at(0).string()) * 1000 + std::stoll(time.at(1).string()) / 1000;
}

std::string describe(const Admission& admission) {
    const char* result = admission.result == Result::Admitted ? "Admitted"
                         : admission.result == Result::Refused ? "Refused"
                                                                 : "StoreFailed";
    return std::string(result) + " by=" + admission.refusedBy + " scope=" + admission.refusedScope +
           " retryAfter=" + std::to_string(admission.retryAfter.count()) + " error=" + admission.error;
}

} // namespace

class RedisCounterStoreTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RedisCounterStoreTest);
    CPPUNIT_TEST(requestsPerMinuteRefusesAtTheLimit);
    CPPUNIT_TEST(aRefusalCountsNothingInAnyScope);
    CPPUNIT_TEST(concurrencyLeasesAreGivenBack);
    CPPUNIT_TEST(tokensChargedOnReleaseRefuseAtTheLimit);
    CPPUNIT_TEST(reservationsCountAtAdmissionAndSettleToTheUsage);
    CPPUNIT_TEST(oldRequestsAndTokensAgeOut);
    CPPUNIT_TEST(leasesExpireWithoutRelease);
    CPPUNIT_TEST(everyKeyHasATtl);
    CPPUNIT_TEST(redisDownIsStoreFailedThenRecovers);
    CPPUNIT_TEST(exactAcrossInstances);
    CPPUNIT_TEST(scriptsRunBySha1);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _server = std::make_unique<RedisServer>();
        _redis = std::make_shared<Client>(RedisUrl::parse(_server->url()), 1000ms);
    }
    void tearDown() override {
        _redis.reset();
        _server.reset();
    }

    void requestsPerMinuteRefusesAtTheLimit() {
        RedisCounterStore store(_redis, 30s);
        for (std::uint64_t i = 1; i <= 5; ++i) {
            const auto admission = store.admit(ticket({limits("key:k1", 5)}));
            CPPUNIT_ASSERT_MESSAGE(describe(admission), admission.result == Result::Admitted);
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), admission.views.size());
            const auto& view = admission.views[0];
            CPPUNIT_ASSERT_EQUAL(std::string("key:k1"), view.scope);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(5), view.requestLimit);
            CPPUNIT_ASSERT_EQUAL(5 - i, view.requestsRemaining);
            CPPUNIT_ASSERT_EQUAL(Millis(60000), view.requestsReset);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), view.tokenLimit);  // no tokens limit, no tokens view
        }
        const auto refused = store.admit(ticket({limits("key:k1", 5)}));
        CPPUNIT_ASSERT_MESSAGE(describe(refused), refused.result == Result::Refused);
        CPPUNIT_ASSERT_EQUAL(std::string("requests"), refused.refusedBy);
        CPPUNIT_ASSERT_EQUAL(std::string("key:k1"), refused.refusedScope);
        // The first request leaves the window a minute after it came, which was just now.
        CPPUNIT_ASSERT_MESSAGE(describe(refused), refused.retryAfter > 50000ms && refused.retryAfter <= 60000ms);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), refused.views.at(0).requestsRemaining);
        CPPUNIT_ASSERT(refused.views.at(0).requestsReset > 50000ms);
        // Another scope is not affected.
        CPPUNIT_ASSERT(store.admit(ticket({limits("key:k2", 5)})).result == Result::Admitted);
    }

    void aRefusalCountsNothingInAnyScope() {
        RedisCounterStore store(_redis, 30s);
        const auto both = [] { return ticket({limits("tenant:acme", 3), limits("key:k1", 10)}); };
        for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT(store.admit(both()).result == Result::Admitted);
        const auto refused = store.admit(both());
        CPPUNIT_ASSERT_MESSAGE(describe(refused), refused.result == Result::Refused);
        CPPUNIT_ASSERT_EQUAL(std::string("requests"), refused.refusedBy);
        CPPUNIT_ASSERT_EQUAL(std::string("tenant:acme"), refused.refusedScope);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), refused.views.size());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), refused.views[0].requestsRemaining);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(7), refused.views[1].requestsRemaining);
        // The key alone: the refused request was not counted there either.
        const auto keyOnly = store.admit(ticket({limits("key:k1", 10)}));
        CPPUNIT_ASSERT(keyOnly.result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(6), keyOnly.views.at(0).requestsRemaining);
        CPPUNIT_ASSERT_EQUAL(4LL, _redis->command({"ZCARD", store.requestLogKey("key:k1")}).integer());
        CPPUNIT_ASSERT_EQUAL(3LL, _redis->command({"ZCARD", store.requestLogKey("tenant:acme")}).integer());
        // An unlimited scope writes nothing and has no view.
        const auto withUnlimited = store.admit(ticket({limits("tenant:free", 0), limits("key:k1", 10)}));
        CPPUNIT_ASSERT(withUnlimited.result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), withUnlimited.views.size());
        CPPUNIT_ASSERT_EQUAL(0LL, _redis->command({"EXISTS", store.requestLogKey("tenant:free"),
                                                   store.leaseSetKey("tenant:free"), store.tokenBucketsKey("tenant:free")})
                                      .integer());
    }

    void concurrencyLeasesAreGivenBack() {
        RedisCounterStore store(_redis, 30s);
        const auto scopes = std::vector{limits("tenant:acme", 0, 0, 10), limits("key:k1", 0, 0, 2)};
        const auto first = ticket(scopes);
        const auto second = ticket(scopes);
        CPPUNIT_ASSERT(store.admit(first).result == Result::Admitted);
        CPPUNIT_ASSERT(store.admit(second).result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), store.leasesHeld("key:k1"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), store.leasesHeld("tenant:acme"));

        const auto refused = store.admit(ticket(scopes));
        CPPUNIT_ASSERT_MESSAGE(describe(refused), refused.result == Result::Refused);
        CPPUNIT_ASSERT_EQUAL(std::string("concurrency"), refused.refusedBy);
        CPPUNIT_ASSERT_EQUAL(std::string("key:k1"), refused.refusedScope);
        CPPUNIT_ASSERT_MESSAGE(describe(refused), refused.retryAfter >= 1ms && refused.retryAfter <= 1000ms);
        CPPUNIT_ASSERT(refused.views.empty());  // concurrency has no header
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), store.leasesHeld("tenant:acme"));  // the refusal took no lease

        store.release(first, 0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.leasesHeld("key:k1"));
        const auto third = ticket(scopes);
        CPPUNIT_ASSERT(store.admit(third).result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), store.leasesHeld("key:k1"));

        store.release(second, 0);
        store.release(third, 0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.leasesHeld("key:k1"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.leasesHeld("tenant:acme"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.leasesHeld("key:never-used"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.releaseFailures());
    }

    void tokensChargedOnReleaseRefuseAtTheLimit() {
        RedisCounterStore store(_redis, 30s);
        const auto scopes = std::vector{limits("key:k1", 0, 100)};

        const auto first = ticket(scopes);
        auto admission = store.admit(first);
        CPPUNIT_ASSERT(admission.result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100), admission.views.at(0).tokenLimit);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100), admission.views.at(0).tokensRemaining);
        CPPUNIT_ASSERT_EQUAL(Millis(0), admission.views.at(0).tokensReset);  // nothing charged yet
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), admission.views.at(0).requestLimit);
        store.release(first, 60);

        const auto second = ticket(scopes);
        admission = store.admit(second);  // 60 < 100: still admitted
        CPPUNIT_ASSERT(admission.result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(40), admission.views.at(0).tokensRemaining);
        CPPUNIT_ASSERT(admission.views.at(0).tokensReset > 58000ms && admission.views.at(0).tokensReset <= 60000ms);
        store.release(second, 50);  // 110: over

        admission = store.admit(ticket(scopes));
        CPPUNIT_ASSERT_MESSAGE(describe(admission), admission.result == Result::Refused);
        CPPUNIT_ASSERT_EQUAL(std::string("tokens"), admission.refusedBy);
        CPPUNIT_ASSERT_EQUAL(std::string("key:k1"), admission.refusedScope);
        CPPUNIT_ASSERT_MESSAGE(describe(admission), admission.retryAfter > 0ms && admission.retryAfter <= 60000ms);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), admission.views.at(0).tokensRemaining);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.releaseFailures());
    }

    // Twenty concurrent requests against a budget for five: reservations are
    // charged in the admission script itself, so the sixth sees the first
    // five's; the settled totals are the backend's usage, not the estimates.
    void reservationsCountAtAdmissionAndSettleToTheUsage() {
        RedisCounterStore store(_redis, 30s);
        std::vector<Ticket> tickets(20);
        std::vector<Admission> admissions(20);
        std::vector<std::thread> threads;
        for (int i = 0; i < 20; ++i) {
            tickets[i] = ticket({limits("key:reserve", 0, 100)});
            tickets[i].reservedTokens = 20;
        }
        for (int i = 0; i < 20; ++i) threads.emplace_back([&, i] { admissions[i] = store.admit(tickets[i]); });
        for (auto& thread : threads) thread.join();
        std::vector<Ticket> running;
        for (int i = 0; i < 20; ++i) {
            if (admissions[i].result != Result::Admitted) {
                CPPUNIT_ASSERT_MESSAGE(describe(admissions[i]), admissions[i].refusedBy == "tokens");
                continue;
            }
            tickets[i].reservedSecond = admissions[i].reservedSecond;
            running.push_back(tickets[i]);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{5}, running.size());
        for (const auto& done : running) store.release(done, 7);
        const auto next = store.admit(ticket({limits("key:reserve", 0, 100)}));
        CPPUNIT_ASSERT_MESSAGE(describe(next), next.result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100 - 35), next.views.at(0).tokensRemaining);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.releaseFailures());
    }

    void oldRequestsAndTokensAgeOut() {
        // Counts written as if long ago, by Redis's clock: a request 59.6 s
        // old, a token bucket from 59 s ago and a stale one from 61 s ago.
        RedisCounterStore store(_redis, 30s);
        // The bucket is written 59 s back from one second of Redis's clock; if
        // that second ends before the admission reads it, the bucket is 60 s
        // old and rightly not counted. So the setup is made again, a bounded
        // number of times, until writing and admitting fall in one second.
        long long now = 0;
        long long second = 0;
        Admission admission;
        for (int attempt = 0; attempt < 10; ++attempt) {
            _redis->command({"DEL", store.requestLogKey("key:old"), store.tokenBucketsKey("key:old")});
            now = serverNowMs(*_redis);
            if (now % 1000 > 700) {  // too near the next second: wait for it instead of racing it
                std::this_thread::sleep_for(Millis(1000 - now % 1000 + 5));
                continue;
            }
            _redis->command({"ZADD", store.requestLogKey("key:old"), std::to_string(now - 59600), "old-request"});
            second = now / 1000;
            _redis->command({"HSET", store.tokenBucketsKey("key:old"), std::to_string(second - 59), "100",
                             std::to_string(second - 61), "1000"});
            admission = store.admit(ticket({limits("key:old", 1, 100)}));
            if (serverNowMs(*_redis) / 1000 == second) break;
        }
        CPPUNIT_ASSERT_MESSAGE(describe(admission), admission.result == Result::Refused);
        // Both refuse; the bucket leaves at the next whole second, the request
        // 400 ms from `now`: the later of the two is reported.
        const auto requestFree = Millis(now - 59600 + 60000 - serverNowMs(*_redis));
        CPPUNIT_ASSERT_MESSAGE(describe(admission), admission.retryAfter <= 1000ms);
        CPPUNIT_ASSERT_MESSAGE(describe(admission), admission.retryAfter + 50ms >= requestFree);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), admission.views.at(0).tokensRemaining);
        // The stale bucket was deleted, not counted.
        CPPUNIT_ASSERT_EQUAL(0LL, _redis->command({"HEXISTS", store.tokenBucketsKey("key:old"), std::to_string(second - 61)})
                                      .integer());

        // Redis's clock decides when they leave, so the test waits for that
        // (a refusal records nothing, so asking again is harmless), bounded.
        std::this_thread::sleep_for(admission.retryAfter);
        CPPUNIT_ASSERT(eventually([&] {
            admission = store.admit(ticket({limits("key:old", 1, 100)}));
            return admission.result == Result::Admitted;
        }));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100), admission.views.at(0).tokensRemaining);
        CPPUNIT_ASSERT_EQUAL(0LL, _redis->command({"EXISTS", store.tokenBucketsKey("key:old")}).integer());
        CPPUNIT_ASSERT(_redis->command({"ZSCORE", store.requestLogKey("key:old"), "old-request"}).isNil());
    }

    void leasesExpireWithoutRelease() {
        RedisCounterStore store(_redis, 1s);
        const auto scopes = std::vector{limits("key:k1", 0, 0, 1)};
        CPPUNIT_ASSERT(store.admit(ticket(scopes)).result == Result::Admitted);  // never released: its instance "crashed"
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.leasesHeld("key:k1"));
        CPPUNIT_ASSERT(store.admit(ticket(scopes)).result == Result::Refused);

        CPPUNIT_ASSERT(eventually([&] { return store.leasesHeld("key:k1") == 0; }));  // after 1 s of Redis's clock
        const auto admission = store.admit(ticket(scopes));
        CPPUNIT_ASSERT_MESSAGE(describe(admission), admission.result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.leasesHeld("key:k1"));
    }

    void everyKeyHasATtl() {
        RedisCounterStore store(_redis, 5s);
        const auto scopes = std::vector{limits("tenant:acme", 100, 1000, 10), limits("key:k1", 50, 500, 5)};
        const auto first = ticket(scopes);
        CPPUNIT_ASSERT(store.admit(first).result == Result::Admitted);
        store.release(first, 42);
        CPPUNIT_ASSERT(store.admit(ticket(scopes)).result == Result::Admitted);  // holds a lease

        const auto pttl = [&](const std::string& key) { return _redis->command({"PTTL", key}).integer(); };
        for (const auto* scope : {"tenant:acme", "key:k1"}) {
            const auto requests = pttl(store.requestLogKey(scope));
            const auto tokens = pttl(store.tokenBucketsKey(scope));
            const auto leases = pttl(store.leaseSetKey(scope));
            const auto what = std::string(scope) + " req " + std::to_string(requests) + " tok " + std::to_string(tokens) +
                              " lease " + std::to_string(leases);
            CPPUNIT_ASSERT_MESSAGE(what, requests > 59000 && requests <= 61000);
            CPPUNIT_ASSERT_MESSAGE(what, tokens > 59000 && tokens <= 61000);
            CPPUNIT_ASSERT_MESSAGE(what, leases > 5000 && leases <= 6000);  // the lease TTL + 1 s
        }
        // And nothing the store wrote is left without one (-1 would mean no TTL).
        const auto all = _redis->command({"KEYS", "sluice:rl:*"}).array();
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), all.size());
        for (const auto& key : all) CPPUNIT_ASSERT_MESSAGE(key.string(), pttl(key.string()) > 0);
    }

    void redisDownIsStoreFailedThenRecovers() {
        const auto timeout = 300ms;
        auto client = std::make_shared<Client>(RedisUrl::parse(_server->url()), timeout);
        RedisCounterStore store(client, 30s);
        const auto scopes = std::vector{limits("key:k1", 10, 100, 2)};
        CPPUNIT_ASSERT(store.admit(ticket(scopes)).result == Result::Admitted);

        _server->stop();
        const auto start = Clock::now();
        const auto failed = store.admit(ticket(scopes));
        const auto elapsed = std::chrono::duration_cast<Millis>(Clock::now() - start);
        CPPUNIT_ASSERT_MESSAGE(describe(failed), failed.result == Result::StoreFailed);
        CPPUNIT_ASSERT_MESSAGE(describe(failed), failed.error.find(std::to_string(_server->port())) != std::string::npos);
        // Wide for loaded machines: it rules out waiting on no deadline at all.
        CPPUNIT_ASSERT_MESSAGE(std::to_string(elapsed.count()) + " ms", elapsed < 10 * timeout);
        store.release(ticket(scopes), 10);  // noexcept: counted, not thrown
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.releaseFailures());

        // Same store, same client: works as soon as Redis is back (empty: no persistence).
        _server->start();
        const auto admission = store.admit(ticket(scopes));
        CPPUNIT_ASSERT_MESSAGE(describe(admission), admission.result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(9), admission.views.at(0).requestsRemaining);
    }

    void exactAcrossInstances() {
        // Two gateway instances, each with its own client and store, 8 request
        // threads each, all on one key allowed 50 requests a minute.
        const auto instance = [&] {
            return std::make_unique<RedisCounterStore>(std::make_shared<Client>(RedisUrl::parse(_server->url()), 2000ms),
                                                       30s);
        };
        const auto a = instance();
        const auto b = instance();
        std::atomic<int> admitted{0};
        std::atomic<int> refused{0};
        std::atomic<int> failed{0};
        const auto until = Clock::now() + 1s;
        std::vector<std::thread> threads;
        for (int t = 0; t < 16; ++t) {
            threads.emplace_back([&, store = (t % 2 == 0 ? a.get() : b.get())] {
                while (Clock::now() < until) {
                    const auto admission = store->admit(ticket({limits("key:shared", 50)}));
                    switch (admission.result) {
                    case Result::Admitted: ++admitted; break;
                    case Result::Refused: ++refused; break;
                    case Result::StoreFailed: ++failed; break;
                    }
                }
            });
        }
        for (auto& thread : threads) thread.join();
        CPPUNIT_ASSERT_EQUAL(0, failed.load());
        CPPUNIT_ASSERT_EQUAL(50, admitted.load());
        CPPUNIT_ASSERT(refused.load() > 100);  // they really competed
        CPPUNIT_ASSERT_EQUAL(50LL, _redis->command({"ZCARD", a->requestLogKey("key:shared")}).integer());
    }

    void scriptsRunBySha1() {
        RedisCounterStore store(_redis, 30s);
        const auto scopes = std::vector{limits("key:k1", 100, 1000, 10)};
        _redis->command({"CONFIG", "RESETSTAT"});

        // First admission: EVALSHA is refused (NOSCRIPT), EVAL loads the script.
        const auto first = ticket(scopes);
        CPPUNIT_ASSERT(store.admit(first).result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(1LL, callsOf(*_redis, "evalsha"));
        CPPUNIT_ASSERT_EQUAL(1LL, callsOf(*_redis, "eval"));
        // Then by SHA1 alone: one EVALSHA per admission, nothing else.
        CPPUNIT_ASSERT(store.admit(ticket(scopes)).result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(2LL, callsOf(*_redis, "evalsha"));
        CPPUNIT_ASSERT_EQUAL(1LL, callsOf(*_redis, "eval"));
        // The release script likewise: loaded once, then by SHA1.
        store.release(first, 10);
        store.release(ticket(scopes), 10);
        CPPUNIT_ASSERT_EQUAL(4LL, callsOf(*_redis, "evalsha"));
        CPPUNIT_ASSERT_EQUAL(2LL, callsOf(*_redis, "eval"));

        // After SCRIPT FLUSH (as after a Redis restart) it loads itself again.
        _redis->command({"SCRIPT", "FLUSH"});
        const auto admission = store.admit(ticket(scopes));
        CPPUNIT_ASSERT_MESSAGE(describe(admission), admission.result == Result::Admitted);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(97), admission.views.at(0).requestsRemaining);
        CPPUNIT_ASSERT_EQUAL(3LL, callsOf(*_redis, "eval"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.releaseFailures());
    }

private:
    std::unique_ptr<RedisServer> _server;
    std::shared_ptr<Client> _redis;
};

CPPUNIT_TEST_SUITE_REGISTRATION(RedisCounterStoreTest);

} // namespace sluice::test
