// The apikey auth stage end to end: real sluiced, real sluicectl, a real
// store. Every case runs twice, on SQLite and on PostgreSQL, because the two
// engines must behave the same.

#include <algorithm>
#include <chrono>
#include <set>

#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include "AuthDeployment.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
} // namespace

class AuthCases : public CppUnit::TestFixture {
public:
    void setUp() override {
        // Tests poll for revocations; the per-address failure limit has its own suite.
        _deployment = std::make_unique<AuthDeployment>(storeKind(), nullptr, "auth.failures_per_ip_per_min = 1000\n");
        _backend = std::make_unique<FakeBackend>("ollama", "box", std::vector<std::string>{"--models", "llama3.2,qwen2.5,mistral"});
        _gateway = std::make_unique<TestGateway>(_deployment->configWith(*_backend));
    }
    void tearDown() override {
        _gateway.reset();
        _backend.reset();
        _deployment.reset();
    }

    void aKeyWorksInEitherHeader() {
        const auto tenant = _deployment->createTenant("team", {"--all-models"});
        const auto key = _deployment->createKey(tenant);
        CPPUNIT_ASSERT_EQUAL(200, httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false), bearer(key)).status);
        CPPUNIT_ASSERT_EQUAL(200, httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("qwen2.5", false),
                                           {{"x-api-key", key}}).status);
        CPPUNIT_ASSERT_EQUAL(200, httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false),
                                           {{"Authorization", "bearer  " + key}}).status);
    }

    // Unknown, malformed, wrong secret, expired, revoked, disabled tenant:
    // one body per protocol, and each costs the same work (one verify).
    void everyBadKeyLooksTheSame() {
        const auto tenant = _deployment->createTenant("team", {"--all-models"});
        const auto good = _deployment->createKey(tenant);
        const auto expired = _deployment->createKey(tenant);
        _deployment->expireKey(keyIdOf(expired));
        const auto revoked = _deployment->createKey(tenant);
        CPPUNIT_ASSERT_EQUAL(0, _deployment->ctl({"keys", "revoke", keyIdOf(revoked)}).code);
        const auto disabledTenant = _deployment->createTenant("gone", {"--all-models"});
        const auto ofDisabled = _deployment->createKey(disabledTenant);
        CPPUNIT_ASSERT_EQUAL(0, _deployment->ctl({"tenants", "disable", disabledTenant}).code);
        // The gateway learns of those changes from its change feed. One that
        // arrived while a refusal below was being verified would keep that
        // refusal out of the cache (by design: it may be stale), and the
        // key's second call would verify again. A key revoked after them is
        // refused once the feed has read them all.
        const auto marker = _deployment->createKey(tenant);
        HttpClient client(_gateway->port());
        CPPUNIT_ASSERT_EQUAL(200, client.get("/api/tags", bearer(marker)).status);
        CPPUNIT_ASSERT_EQUAL(0, _deployment->ctl({"keys", "revoke", keyIdOf(marker)}).code);
        CPPUNIT_ASSERT(eventually([&] { return client.get("/api/tags", bearer(marker)).status == 401; }));
        auto wrongSecret = good;
        wrongSecret.back() = wrongSecret.back() == 'a' ? 'b' : 'a';
        const std::vector<std::string> bad = {
            "slk_AAAAAAAAAAAA_" + std::string(43, 'x'),  // unknown id
            "not-a-key", wrongSecret, expired, revoked, ofDisabled};

        const auto verifiesBefore = verifyCount(good);
        std::set<std::string> ollamaBodies;
        std::set<std::string> openAiBodies;
        for (const auto& key : bad) {
            const auto ollama = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false), bearer(key));
            const auto openAi = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("llama3.2", false), bearer(key));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(key, 401, ollama.status);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(key, 401, openAi.status);
            ollamaBodies.insert(ollama.body);
            openAiBodies.insert(openAi.body);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, ollamaBodies.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, openAiBodies.size());
        CPPUNIT_ASSERT(contains(*openAiBodies.begin(), "\"code\":\"invalid_api_key\""));
        // Each bad credential was verified once (the second protocol's call hit
        // the failure cache), the unknown and malformed ones against the dummy hash.
        CPPUNIT_ASSERT_EQUAL(verifiesBefore + static_cast<double>(bad.size()), verifyCount(good));
        CPPUNIT_ASSERT_EQUAL(0, forwardedCount());
    }

    // The key's grant narrows the tenant's; a model it may not use and a
    // model that does not exist get the same 403, and lists show only the grant.
    void grantsNarrowAndListsFollowThem() {
        const auto tenant = _deployment->createTenant("team", {"--models", "llama3.2,qwen2.5"});
        const auto key = _deployment->createKey(tenant, {"--models", "qwen2.5,mistral"});
        const auto port = _gateway->port();
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("qwen2.5", false), bearer(key)).status);
        const auto tenantOnly = httpPost(port, "/api/chat", ollamaChat("llama3.2", false), bearer(key));
        const auto keyOnly = httpPost(port, "/api/chat", ollamaChat("mistral", false), bearer(key));
        const auto missing = httpPost(port, "/api/chat", ollamaChat("no-such-model", false), bearer(key));
        CPPUNIT_ASSERT_EQUAL(403, tenantOnly.status);
        CPPUNIT_ASSERT_EQUAL(403, keyOnly.status);
        CPPUNIT_ASSERT_EQUAL(403, missing.status);
        CPPUNIT_ASSERT_EQUAL(tenantOnly.body, missing.body);
        CPPUNIT_ASSERT_EQUAL(keyOnly.body, missing.body);

        const auto tags = httpGet(port, "/api/tags", bearer(key)).json();
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, tags["models"].size());
        CPPUNIT_ASSERT_EQUAL(std::string("qwen2.5"), tags["models"][0]["name"].get<std::string>());
        const auto models = httpGet(port, "/v1/models", bearer(key)).json();
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, models["data"].size());
    }

    void revocationTakesEffectWithinASecond() {
        const auto tenant = _deployment->createTenant("team", {"--all-models"});
        const auto key = _deployment->createKey(tenant);
        HttpClient client(_gateway->port());
        CPPUNIT_ASSERT_EQUAL(200, client.post("/api/chat", ollamaChat("llama3.2", false), bearer(key)).status);
        CPPUNIT_ASSERT_EQUAL(0, _deployment->ctl({"keys", "revoke", keyIdOf(key)}).code);
        // The key was cached; only the change feed can take it out.
        CPPUNIT_ASSERT(eventually([&] { return client.post("/api/chat", ollamaChat("llama3.2", false), bearer(key)).status == 401; },
                                  std::chrono::seconds(1)));
    }

    void disablingATenantStopsItsKeysAndEnablingRestoresThem() {
        const auto tenant = _deployment->createTenant("team", {"--all-models"});
        const auto key = _deployment->createKey(tenant);
        HttpClient client(_gateway->port());
        CPPUNIT_ASSERT_EQUAL(200, client.get("/api/tags", bearer(key)).status);
        CPPUNIT_ASSERT_EQUAL(0, _deployment->ctl({"tenants", "disable", tenant}).code);
        CPPUNIT_ASSERT(eventually([&] { return client.get("/api/tags", bearer(key)).status == 401; }, std::chrono::seconds(1)));
        CPPUNIT_ASSERT_EQUAL(0, _deployment->ctl({"tenants", "enable", tenant}).code);
        CPPUNIT_ASSERT(eventually([&] { return client.get("/api/tags", bearer(key)).status == 200; }, std::chrono::seconds(1)));
    }

    // With apikey, every route but the two probes needs a key.
    void everyPathNeedsAKey() {
        const auto port = _gateway->port();
        const std::vector<std::pair<std::string, std::string>> posts = {
            {"/api/chat", ollamaChat("llama3.2", false)}, {"/api/generate", R"({"model":"llama3.2","prompt":"hi"})"},
            {"/api/embed", R"({"model":"llama3.2","input":"hi"})"}, {"/api/embeddings", R"({"model":"llama3.2","prompt":"hi"})"},
            {"/api/show", R"({"model":"llama3.2"})"}, {"/v1/chat/completions", openAiChat("llama3.2", false)},
            {"/v1/completions", R"({"model":"llama3.2","prompt":"hi"})"}, {"/v1/embeddings", R"({"model":"llama3.2","input":"hi"})"}};
        for (const auto& [path, body] : posts) CPPUNIT_ASSERT_EQUAL_MESSAGE(path, 401, httpPost(port, path, body).status);
        for (const auto* path : {"/api/tags", "/api/ps", "/api/version", "/v1/models", "/v1/models/llama3.2", "/metrics", "/v1/health"})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(path, 401, httpGet(port, path).status);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(port, "/healthz").status);
        CPPUNIT_ASSERT_EQUAL(0, forwardedCount());
    }

    // The operator's view: ids, states and dates, never a secret or a hash.
    void sluicectlListsKeysWithoutSecrets() {
        const auto tenant = _deployment->createTenant("team", {"--all-models", "--rpm", "120"});
        const auto key = _deployment->createKey(tenant, {"--concurrent", "2", "--expires", "30"});
        CPPUNIT_ASSERT_EQUAL(200, httpGet(_gateway->port(), "/api/tags", bearer(key)).status);
        const auto listed = _deployment->ctl({"--json", "keys", "list", "--tenant", tenant});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(listed.output, 0, listed.code);
        const auto keys = nlohmann::json::parse(listed.output);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, keys.size());
        CPPUNIT_ASSERT_EQUAL(keyIdOf(key), keys[0]["key_id"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("active"), keys[0]["state"].get<std::string>());
        CPPUNIT_ASSERT(keys[0]["last_used"].is_string());
        CPPUNIT_ASSERT(keys[0]["expires"].is_string());
        CPPUNIT_ASSERT_EQUAL(2, keys[0]["limits"]["concurrent"].get<int>());
        const auto secret = key.substr(17);
        const auto hash = _deployment->storedHash(keyIdOf(key));
        CPPUNIT_ASSERT(hash.rfind("$argon2id$", 0) == 0);
        for (const auto& args : std::vector<std::vector<std::string>>{{"keys", "list"}, {"tenants", "list"}, {"--json", "tenants", "list"}}) {
            const auto out = _deployment->ctl(args);
            CPPUNIT_ASSERT_EQUAL(0, out.code);
            CPPUNIT_ASSERT(!contains(out.output, secret));
            CPPUNIT_ASSERT(!contains(out.output, hash));
        }
        CPPUNIT_ASSERT_EQUAL(1, _deployment->ctl({"keys", "revoke", "nosuchkeyid1"}).code);
        CPPUNIT_ASSERT_EQUAL(2, _deployment->ctl({"keys", "create"}).code);
        CPPUNIT_ASSERT_EQUAL(2, _deployment->ctl({"keys", "create", "--tenant", tenant, "--models", "a", "--all-models"}).code);
        CPPUNIT_ASSERT_EQUAL(2, _deployment->ctl({"tenants", "create", "bad name"}).code);
        CPPUNIT_ASSERT_EQUAL(1, _deployment->ctl({"tenants", "create", tenant}).code);
    }

    // The queue's class and weight (docs/capacity.md): set on a tenant and
    // on a key, shown in both listings, changed by `tenants set`.
    void sluicectlSetsTheQueuesPriorityAndWeight() {
        const auto tenant = _deployment->createTenant("queued", {"--all-models", "--priority", "batch", "--weight", "3"});
        _deployment->createKey(tenant, {"--weight", "5"});
        auto tenants = nlohmann::json::parse(_deployment->ctl({"--json", "tenants", "list"}).output);
        const auto listed = std::find_if(tenants.begin(), tenants.end(), [&](const auto& t) { return t["name"] == tenant; });
        CPPUNIT_ASSERT(listed != tenants.end());
        CPPUNIT_ASSERT_EQUAL(std::string("batch"), (*listed)["limits"]["priority"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(3, (*listed)["limits"]["weight"].get<int>());
        const auto keys = nlohmann::json::parse(_deployment->ctl({"--json", "keys", "list", "--tenant", tenant}).output);
        CPPUNIT_ASSERT(keys[0]["limits"]["priority"].is_null());  // its tenant's
        CPPUNIT_ASSERT_EQUAL(5, keys[0]["limits"]["weight"].get<int>());
        const auto text = _deployment->ctl({"tenants", "list"}).output;
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "PRIORITY") && contains(text, "batch"));

        CPPUNIT_ASSERT_EQUAL(0, _deployment->ctl({"tenants", "set", tenant, "--priority", "interactive"}).code);
        const auto shown = _deployment->ctl({"--json", "tenants", "list"}).output;
        tenants = nlohmann::json::parse(shown);
        const auto changed = std::find_if(tenants.begin(), tenants.end(), [&](const auto& t) { return t["name"] == tenant; });
        CPPUNIT_ASSERT_EQUAL(std::string("interactive"), (*changed)["limits"]["priority"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(3, (*changed)["limits"]["weight"].get<int>());  // what was not given stays

        CPPUNIT_ASSERT_EQUAL(2, _deployment->ctl({"tenants", "set", tenant, "--priority", "urgent"}).code);
        CPPUNIT_ASSERT_EQUAL(2, _deployment->ctl({"tenants", "set", tenant, "--weight", "0"}).code);
        CPPUNIT_ASSERT_EQUAL(2, _deployment->ctl({"keys", "create", "--tenant", tenant, "--weight", "1001"}).code);
    }

protected:
    virtual StoreKind storeKind() const = 0;

    // Requests that reached the backend other than discovery's polls.
    int forwardedCount() {
        int count = 0;
        // A local, not the temporary: items() refers into it for the whole loop.
        const auto stats = _backend->stats();
        for (const auto& [path, n] : stats["by_path"].items())
            if (path != "/api/tags" && path != "/api/ps") count += n.get<int>();
        return count;
    }

    double verifyCount(const std::string& key) {
        const auto page = httpGet(_gateway->port(), "/metrics", bearer(key)).body;
        return metricValue(page, "sluice_auth_verify_seconds_count");
    }

    std::unique_ptr<AuthDeployment> _deployment;
    std::unique_ptr<FakeBackend> _backend;
    std::unique_ptr<TestGateway> _gateway;
};

#define SLUICE_AUTH_CASES                                                   \
    CPPUNIT_TEST(aKeyWorksInEitherHeader);                                  \
    CPPUNIT_TEST(everyBadKeyLooksTheSame);                                  \
    CPPUNIT_TEST(grantsNarrowAndListsFollowThem);                           \
    CPPUNIT_TEST(revocationTakesEffectWithinASecond);                       \
    CPPUNIT_TEST(disablingATenantStopsItsKeysAndEnablingRestoresThem);      \
    CPPUNIT_TEST(everyPathNeedsAKey);                                       \
    CPPUNIT_TEST(sluicectlListsKeysWithoutSecrets);                         \
    CPPUNIT_TEST(sluicectlSetsTheQueuesPriorityAndWeight)

class SqliteAuthTest : public AuthCases {
    CPPUNIT_TEST_SUITE(SqliteAuthTest);
    SLUICE_AUTH_CASES;
    CPPUNIT_TEST_SUITE_END();

protected:
    StoreKind storeKind() const override { return StoreKind::SQLite; }
};

class PostgresAuthTest : public AuthCases {
    CPPUNIT_TEST_SUITE(PostgresAuthTest);
    SLUICE_AUTH_CASES;
    CPPUNIT_TEST_SUITE_END();

protected:
    StoreKind storeKind() const override { return StoreKind::PostgreSQL; }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SqliteAuthTest);
CPPUNIT_TEST_SUITE_REGISTRATION(PostgresAuthTest);

} // namespace sluice::test
