// Two sluiced processes sharing one store (and Redis) as instances behind a
// load balancer: a key verified on one is not verified again on the other,
// and a revocation or a disabled tenant stops the key on both within a second.

#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include "AuthDeployment.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {
double authCount(int port, const std::string& key, const std::string& result) {
    return metricValue(httpGet(port, "/metrics", bearer(key)).body, "sluice_auth_requests_total{result=\"" + result + "\"}");
}

int occurrences(const std::string& text, const std::string& part) {
    int count = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++count;
    return count;
}

bool refusedWithinASecond(int port, const std::string& key) {
    HttpClient client(port);
    return eventually([&] { return client.get("/api/tags", bearer(key)).status == 401; }, std::chrono::seconds(1));
}
} // namespace

class MultiInstanceAuthTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MultiInstanceAuthTest);
    CPPUNIT_TEST(postgresAndRedisShareKeysAndRevocations);
    CPPUNIT_TEST(postgresNotifyAloneRevokesEverywhere);
    CPPUNIT_TEST(redisPubSubRevokesEverywhereAndSurvivesARestart);
    CPPUNIT_TEST_SUITE_END();

public:
    void postgresAndRedisShareKeysAndRevocations() {
        RedisServer redis;
        AuthDeployment deployment(StoreKind::PostgreSQL, &redis);
        FakeBackend backend("ollama", "box");
        TestGateway first(deployment.configWith(backend));
        TestGateway second(deployment.configWith(backend));
        const auto tenant = deployment.createTenant("team", {"--all-models"});
        const auto key = deployment.createKey(tenant);
        const auto other = deployment.createKey(tenant);

        CPPUNIT_ASSERT_EQUAL(200, httpPost(first.port(), "/api/chat", ollamaChat("llama3.2", false), bearer(key)).status);
        // The second instance finds the first one's verification in Redis.
        CPPUNIT_ASSERT_EQUAL(200, httpPost(second.port(), "/api/chat", ollamaChat("llama3.2", false), bearer(key)).status);
        CPPUNIT_ASSERT_EQUAL(1.0, authCount(second.port(), key, "shared_cache_hit"));
        CPPUNIT_ASSERT_EQUAL(0.0, authCount(second.port(), key, "verified"));
        CPPUNIT_ASSERT_EQUAL(200, httpGet(second.port(), "/api/tags", bearer(other)).status);

        CPPUNIT_ASSERT_EQUAL(0, deployment.ctl({"keys", "revoke", keyIdOf(key)}).code);
        CPPUNIT_ASSERT(refusedWithinASecond(first.port(), key));
        CPPUNIT_ASSERT(refusedWithinASecond(second.port(), key));
        CPPUNIT_ASSERT_EQUAL(200, httpGet(first.port(), "/api/tags", bearer(other)).status);

        CPPUNIT_ASSERT_EQUAL(0, deployment.ctl({"tenants", "disable", tenant}).code);
        CPPUNIT_ASSERT(refusedWithinASecond(first.port(), other));
        CPPUNIT_ASSERT(refusedWithinASecond(second.port(), other));
    }

    void postgresNotifyAloneRevokesEverywhere() {
        AuthDeployment deployment(StoreKind::PostgreSQL);
        FakeBackend backend("ollama", "box");
        TestGateway first(deployment.configWith(backend));
        TestGateway second(deployment.configWith(backend));
        const auto key = deployment.createKey(deployment.createTenant("team", {"--all-models"}));
        CPPUNIT_ASSERT_EQUAL(200, httpGet(first.port(), "/api/tags", bearer(key)).status);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(second.port(), "/api/tags", bearer(key)).status);
        CPPUNIT_ASSERT_EQUAL(0, deployment.ctl({"keys", "revoke", keyIdOf(key)}).code);
        CPPUNIT_ASSERT(refusedWithinASecond(first.port(), key));
        CPPUNIT_ASSERT(refusedWithinASecond(second.port(), key));
    }

    // Two instances on one SQLite file with the change-log poll slowed to a
    // minute: only Redis pub/sub can deliver the revocation in time.
    void redisPubSubRevokesEverywhereAndSurvivesARestart() {
        RedisServer redis;
        AuthDeployment deployment(StoreKind::SQLite, &redis, "auth.change_poll_ms = 60000\n");
        FakeBackend backend("ollama", "box");
        TestGateway first(deployment.configWith(backend));
        TestGateway second(deployment.configWith(backend));
        const auto tenant = deployment.createTenant("team", {"--all-models"});
        const auto key = deployment.createKey(tenant);
        const auto later = deployment.createKey(tenant);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(first.port(), "/api/tags", bearer(key)).status);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(second.port(), "/api/tags", bearer(key)).status);

        // Redis away: keys are still checked against the store.
        redis.stop();
        CPPUNIT_ASSERT_EQUAL(200, httpGet(first.port(), "/api/tags", bearer(later)).status);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(second.port(), "/api/tags", bearer(key)).status);
        redis.start();
        // Back: the subscribers reconnect (and drop their caches, having maybe missed something).
        CPPUNIT_ASSERT(eventually([&] {
            return deployment.ctl({"keys", "list"}).code == 0 &&
                   httpGet(first.port(), "/api/tags", bearer(key)).status == 200 &&
                   httpGet(second.port(), "/api/tags", bearer(key)).status == 200;
        }));
        // Wait until both instances are subscribed again before revoking.
        CPPUNIT_ASSERT(eventually([&] {
            return occurrences(first.output(), "listening for key changes on Redis") >= 2 &&
                   occurrences(second.output(), "listening for key changes on Redis") >= 2;
        }));
        CPPUNIT_ASSERT_EQUAL(0, deployment.ctl({"keys", "revoke", keyIdOf(key)}).code);
        CPPUNIT_ASSERT(refusedWithinASecond(first.port(), key));
        CPPUNIT_ASSERT(refusedWithinASecond(second.port(), key));
        CPPUNIT_ASSERT_EQUAL(200, httpGet(second.port(), "/api/tags", bearer(later)).status);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MultiInstanceAuthTest);

} // namespace sluice::test
