// The operator console's HTTP, through the real sluiced, on both stores:
// who gets in (an admin key, never an ordinary one), the session cookie's
// attributes, the guards on every change (CSRF token, JSON, same origin),
// the headers every answer carries, that a key made in the console works
// until it is revoked there, that each change is in the operators' trail,
// and usage and recent requests read back from the audit store. The pages
// themselves, in a real browser, are e2e.console's.

#include <regex>
#include <thread>

#include <cppunit/extensions/HelperMacros.h>

#include "AuthDeployment.h"
#include "ScratchDir.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A browser's session with the console: its cookie and CSRF token, and the
// headers a page of the console's own origin sends with a change.
struct ConsoleSessionClient {
    int port = 0;
    std::string cookie;
    std::string csrf;

    Headers changeHeaders() const {
        return {{"Cookie", "sluice_console=" + cookie},
                {"X-Sluice-CSRF", csrf},
                {"Content-Type", "application/json"},
                {"Origin", "http://127.0.0.1:" + std::to_string(port)},
                {"Host", "127.0.0.1:" + std::to_string(port)},
                {"Sec-Fetch-Site", "same-origin"}};
    }
    HttpResult get(const std::string& path) const { return httpGet(port, path, {{"Cookie", "sluice_console=" + cookie}}); }
    HttpResult change(const std::string& path, const nlohmann::json& body, const Headers& overrides = {}) const {
        auto headers = changeHeaders();
        for (const auto& [name, value] : overrides) headers[name] = value;
        return httpPost(port, path, body.dump(), headers);
    }
};

HttpResult login(int port, const std::string& key) {
    return httpPost(port, "/console/api/login", "{}",
                    {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
}

ConsoleSessionClient loggedIn(int port, const std::string& key) {
    const auto answer = login(port, key);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, 200, answer.status);
    std::smatch match;
    const auto setCookie = answer.header("set-cookie");
    CPPUNIT_ASSERT_MESSAGE(setCookie, std::regex_search(setCookie, match, std::regex("sluice_console=([^;]+)")));
    return {port, match[1].str(), answer.json()["csrf"].get<std::string>()};
}

std::string errorCode(const HttpResult& answer) {
    const auto body = answer.json();
    return body.is_object() && body.contains("error") && body["error"].is_object() ? body["error"].value("code", "") : "";
}

} // namespace

class ConsoleCases : public CppUnit::TestFixture {
public:
    void setUp() override {
        _deployment = std::make_unique<AuthDeployment>(storeKind(), nullptr,
                                                       "auth.failures_per_ip_per_min = 1000\n"
                                                       "console.enabled = true\n"
                                                       "pipeline.audit = " + std::string(storeKind() == StoreKind::SQLite ? "sqlite" : "postgresql") +
                                                           "\naudit.flush_ms = 100\n"
                                                           // A page of this origin may call the API: never the console.
                                                           "server.cors.origins = http://elsewhere.example\n");
        _backend = std::make_unique<FakeBackend>("ollama", "box", std::vector<std::string>{"--models", "llama3.2"});
        auto config = _deployment->configWith(*_backend);
        config += storeKind() == StoreKind::SQLite ? "audit.sqlite.url = " + _deployment->storeUrl() + "\n"
                                                   : "audit.postgresql.url = " + _deployment->storeUrl() + "\n";
        _gateway = std::make_unique<TestGateway>(config);
        _adminTenant = _deployment->createTenant("ops", {"--all-models", "--admin", "on"});
        _adminKey = _deployment->createKey(_adminTenant);
        _userTenant = _deployment->createTenant("team", {"--all-models"});
        _userKey = _deployment->createKey(_userTenant);
    }
    void tearDown() override {
        _gateway.reset();
        _backend.reset();
        _deployment.reset();
    }

    void anOrdinaryKeyGetsNoPageAndNoApi() {
        const int port = _gateway->port();
        const auto refused = login(port, _userKey);
        CPPUNIT_ASSERT_EQUAL(403, refused.status);
        CPPUNIT_ASSERT_EQUAL(std::string("console_forbidden"), errorCode(refused));
        CPPUNIT_ASSERT(refused.header("set-cookie").empty());
        // A bad key is refused by the auth stage, in the same shape.
        CPPUNIT_ASSERT_EQUAL(401, login(port, "slk_nope_nope").status);
        // The API and the pages want a session; a key alone is not one.
        for (const auto* path : {"/console/api/overview", "/console/api/keys", "/console/api/tenants", "/console/api/usage"}) {
            const auto answer = httpGet(port, path, bearer(_userKey));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(path, 401, answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string("console_login_required"), errorCode(answer));
            CPPUNIT_ASSERT_EQUAL(401, httpGet(port, path, bearer(_adminKey)).status);
        }
        const auto page = httpGet(port, "/console/keys.html", bearer(_userKey));
        CPPUNIT_ASSERT_EQUAL(303, page.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/console/login.html"), page.header("location"));
        CPPUNIT_ASSERT_EQUAL(303, httpGet(port, "/console/").status);
        CPPUNIT_ASSERT_EQUAL(303, httpGet(port, "/console").status);
        // The login page and the scripts are public; no file outside the console's is served.
        CPPUNIT_ASSERT_EQUAL(200, httpGet(port, "/console/login.html").status);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(port, "/console/common.js").status);
        CPPUNIT_ASSERT_EQUAL(404, httpGet(port, "/console/../etc/passwd").status);
        CPPUNIT_ASSERT_EQUAL(404, httpGet(port, "/console/vendor/../../sluiced").status);
    }

    void loginSetsAStrictCookieAndAnswersCarryTheirPolicy() {
        const int port = _gateway->port();
        const auto answer = login(port, _adminKey);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, 200, answer.status);
        const auto cookie = answer.header("set-cookie");
        CPPUNIT_ASSERT_MESSAGE(cookie, contains(cookie, "; HttpOnly"));
        CPPUNIT_ASSERT_MESSAGE(cookie, contains(cookie, "; SameSite=Strict"));
        CPPUNIT_ASSERT_MESSAGE(cookie, contains(cookie, "; Path=/console"));
        CPPUNIT_ASSERT_MESSAGE(cookie, !contains(cookie, "Secure"));  // plain HTTP here; HttpsFront's case has it
        CPPUNIT_ASSERT_EQUAL(_adminTenant, answer.json()["tenant"].get<std::string>());
        // The key's text is never in an answer.
        CPPUNIT_ASSERT(!contains(answer.body, _adminKey));
        const auto session = loggedIn(port, _adminKey);
        for (const auto* path : {"/console/api/session", "/console/api/overview", "/console/index.html", "/console/login.html"}) {
            const auto page = httpGet(port, path, {{"Cookie", "sluice_console=" + session.cookie}, {"Origin", "http://elsewhere.example"}});
            CPPUNIT_ASSERT_EQUAL_MESSAGE(path, 200, page.status);
            const auto policy = page.header("content-security-policy");
            CPPUNIT_ASSERT_MESSAGE(policy, contains(policy, "script-src 'self'") && !contains(policy, "unsafe-inline"));
            CPPUNIT_ASSERT_MESSAGE(policy, contains(policy, "frame-ancestors 'none'"));
            CPPUNIT_ASSERT_EQUAL(std::string("nosniff"), page.header("x-content-type-options"));
            CPPUNIT_ASSERT_EQUAL(std::string("no-store"), page.header("cache-control"));
            // An origin CORS allows for the API still may not read the console.
            CPPUNIT_ASSERT_EQUAL_MESSAGE(path, std::string(), page.header("access-control-allow-origin"));
        }
        // The overview: both backends' health, models by name, and the configuration's generation.
        const auto overview = session.get("/console/api/overview").json();
        CPPUNIT_ASSERT_EQUAL(1, overview["config"]["generation"].get<int>());
        const auto& backend = overview["health"]["backends"][0];
        CPPUNIT_ASSERT_EQUAL(std::string("local"), backend["name"].get<std::string>());
        CPPUNIT_ASSERT(backend["failovers"].is_number());
        CPPUNIT_ASSERT_MESSAGE(backend.dump(), contains(backend["hosted_models"].dump(), "llama3.2"));
        // Logging out ends the session everywhere.
        CPPUNIT_ASSERT_EQUAL(200, session.change("/console/api/logout", nlohmann::json::object()).status);
        CPPUNIT_ASSERT_EQUAL(401, session.get("/console/api/session").status);
    }

    void everyChangeNeedsItsTokenJsonAndTheOwnOrigin() {
        const auto session = loggedIn(_gateway->port(), _adminKey);
        const nlohmann::json newKey{{"tenant", _userTenant}};
        auto refusedWith = [&](const Headers& overrides) {
            const auto answer = session.change("/console/api/keys", newKey, overrides);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, 403, answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string("csrf_failed"), errorCode(answer));
        };
        refusedWith({{"X-Sluice-CSRF", ""}});
        refusedWith({{"X-Sluice-CSRF", session.csrf.substr(1) + "x"}});
        refusedWith({{"Content-Type", "text/plain"}});
        refusedWith({{"Origin", "http://evil.example"}});
        refusedWith({{"Sec-Fetch-Site", "cross-site"}});
        // Another session's token is not this one's.
        const auto other = loggedIn(_gateway->port(), _adminKey);
        refusedWith({{"X-Sluice-CSRF", other.csrf}});
        // None of them made a key.
        const auto keys = session.get("/console/api/keys?tenant=" + _userTenant).json()["keys"];
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), keys.size());
        // Login itself: only from the console's own origin.
        const auto forged = httpPost(_gateway->port(), "/console/api/login", "{}",
                                     {{"Authorization", "Bearer " + _adminKey}, {"Content-Type", "application/json"},
                                      {"Sec-Fetch-Site", "cross-site"}});
        CPPUNIT_ASSERT_EQUAL(403, forged.status);
        CPPUNIT_ASSERT(forged.header("set-cookie").empty());
        // Bad input gets a clear error and changes nothing.
        const auto badType = session.change("/console/api/keys", {{"tenant", 7}});
        CPPUNIT_ASSERT_EQUAL(400, badType.status);
        CPPUNIT_ASSERT_EQUAL(404, session.change("/console/api/keys", {{"tenant", "no-such-tenant"}}).status);
        CPPUNIT_ASSERT_EQUAL(400, httpPost(_gateway->port(), "/console/api/keys", "[1,", session.changeHeaders()).status);
        CPPUNIT_ASSERT_EQUAL(404, session.change("/console/api/keys/nope/revoke", nlohmann::json::object()).status);
    }

    void aKeyMadeInTheConsoleWorksUntilRevokedThereAndEachChangeIsInTheTrail() {
        const int port = _gateway->port();
        const auto session = loggedIn(port, _adminKey);
        const auto made = session.change("/console/api/keys", {{"tenant", _userTenant}});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(made.body, 201, made.status);
        const auto key = made.json()["key"].get<std::string>();
        const auto keyId = made.json()["key_id"].get<std::string>();
        CPPUNIT_ASSERT_EQUAL(keyIdOf(key), keyId);
        auto chat = [&] { return httpPost(port, "/v1/chat/completions", openAiChat("llama3.2", false), bearer(key)).status; };
        CPPUNIT_ASSERT_EQUAL(200, chat());
        // Shown once: the listing has its id and state, never its text.
        const auto listing = session.get("/console/api/keys?tenant=" + _userTenant);
        CPPUNIT_ASSERT(contains(listing.body, keyId) && !contains(listing.body, key));
        CPPUNIT_ASSERT_EQUAL(200, session.change("/console/api/keys/" + keyId + "/disable", nlohmann::json::object()).status);
        CPPUNIT_ASSERT(eventually([&] { return chat() == 401; }));
        CPPUNIT_ASSERT_EQUAL(200, session.change("/console/api/keys/" + keyId + "/enable", nlohmann::json::object()).status);
        CPPUNIT_ASSERT(eventually([&] { return chat() == 200; }));
        const auto revoked = session.change("/console/api/keys/" + keyId + "/revoke", nlohmann::json::object());
        CPPUNIT_ASSERT_EQUAL(std::string("revoked"), revoked.json()["state"].get<std::string>());
        CPPUNIT_ASSERT(eventually([&] { return chat() == 401; }));
        // The trail: each change, by whom and through what, newest first.
        const auto actions = session.get("/console/api/actions").json()["actions"];
        std::vector<std::string> forThisKey;
        for (const auto& action : actions)
            if (action["subject"] == "key:" + keyId) {
                forThisKey.push_back(action["action"].get<std::string>());
                CPPUNIT_ASSERT_EQUAL(std::string("console"), action["via"].get<std::string>());
                CPPUNIT_ASSERT_EQUAL("key:" + keyIdOf(_adminKey), action["actor"].get<std::string>());
            }
        const std::vector<std::string> expected{"key.revoke", "key.enable", "key.disable", "key.create"};
        CPPUNIT_ASSERT(forThisKey == expected);
        // sluicectl's changes are in the same trail.
        bool byCtl = false;
        for (const auto& action : actions)
            byCtl = byCtl || (action["subject"] == "tenant:" + _userTenant && action["via"] == "sluicectl" && action["action"] == "tenant.create");
        CPPUNIT_ASSERT_MESSAGE(actions.dump(), byCtl);
    }

    void revokingTheAdminKeyOrItsFlagEndsItsSession() {
        const auto session = loggedIn(_gateway->port(), _adminKey);
        const auto adminKeyId = keyIdOf(_adminKey);
        CPPUNIT_ASSERT_EQUAL(200, session.get("/console/api/session").status);
        // A second admin key, on an ordinary tenant: its own flag lets it in, and taking the flag away ends it.
        const auto flagged = _deployment->createKey(_userTenant, {"--admin", "on"});
        const auto second = loggedIn(_gateway->port(), flagged);
        CPPUNIT_ASSERT_EQUAL(0, _deployment->ctl({"keys", "set", keyIdOf(flagged), "--admin", "off"}).code);
        CPPUNIT_ASSERT_EQUAL(401, second.get("/console/api/session").status);  // sessions read the store
        // Login goes through the auth stage, whose cache learns of the change from its feed.
        CPPUNIT_ASSERT(eventually([&] { return login(_gateway->port(), flagged).status == 403; }));
        // The trail names each grant and withdrawal of the flag.
        const auto actions = session.get("/console/api/actions").body;
        CPPUNIT_ASSERT_MESSAGE(actions, contains(actions, "\"key.create+admin\"") && contains(actions, "\"key.admin_off\""));
        CPPUNIT_ASSERT_MESSAGE(actions, contains(actions, "\"tenant.create+admin\""));
        CPPUNIT_ASSERT_EQUAL(0, _deployment->ctl({"keys", "revoke", adminKeyId}).code);
        CPPUNIT_ASSERT_EQUAL(401, session.get("/console/api/session").status);
    }

    void usageAndRecentRequestsComeFromTheAuditStore() {
        const int port = _gateway->port();
        // Who is not a tenant is nobody's usage, whatever model it names; a
        // name too long for any model is refused before it reaches the trail
        // (whose time index holds it: a PostgreSQL entry is bounded).
        CPPUNIT_ASSERT_EQUAL(401, httpPost(port, "/v1/chat/completions", openAiChat("junk-model", false)).status);
        const auto tooLong = httpPost(port, "/v1/chat/completions", openAiChat(std::string(3000, 'm'), false), bearer(_userKey));
        CPPUNIT_ASSERT_EQUAL(400, tooLong.status);
        CPPUNIT_ASSERT_EQUAL(std::string("model_too_long"), tooLong.json()["error"]["code"].get<std::string>());
        for (int i = 0; i < 3; ++i)
            CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/v1/chat/completions", openAiChat("llama3.2", false), bearer(_userKey)).status);
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", false), bearer(_userKey)).status);
        const auto session = loggedIn(port, _adminKey);
        nlohmann::json usage;
        CPPUNIT_ASSERT(eventually([&] {
            usage = session.get("/console/api/usage?by=tenant&step_ms=60000&tenant=" + _userTenant).json();
            long long requests = 0;
            for (const auto& series : usage["series"])
                for (const auto& point : series["points"]) requests += point[1].get<long long>();
            return requests == 4;
        }));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), usage["series"].size());
        CPPUNIT_ASSERT_EQUAL(_userTenant, usage["series"][0]["name"].get<std::string>());
        const auto& point = usage["series"][0]["points"][0];
        CPPUNIT_ASSERT_EQUAL(0LL, point[0].get<long long>() % 60000);  // a bucket's start
        CPPUNIT_ASSERT(point[2].get<long long>() > 0 && point[3].get<long long>() > 0);  // tokens in and out
        // By model, and the recent requests with their filters, newest first, never any prompt text.
        const auto everyone = session.get("/console/api/usage?by=model").json();
        CPPUNIT_ASSERT_MESSAGE(everyone.dump(), !contains(everyone.dump(), "junk-model"));
        const auto byModel = session.get("/console/api/usage?by=model&tenant=" + _userTenant).json();
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), byModel["series"].size());
        CPPUNIT_ASSERT_MESSAGE(byModel.dump(), byModel["series"][0]["name"].get<std::string>().starts_with("llama3.2"));
        const auto recent = session.get("/console/api/requests?status=2xx&limit=10&tenant=" + _userTenant).json()["requests"];
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), recent.size());
        int ollamaChats = 0;
        for (std::size_t i = 0; i < recent.size(); ++i) {
            ollamaChats += recent[i]["route"] == "/api/chat" ? 1 : 0;
            CPPUNIT_ASSERT(!recent[i].contains("prompt") && !recent[i].contains("answer"));
            // Newest first (to the millisecond: requests in one are in no set order).
            if (i > 0) CPPUNIT_ASSERT(recent[i]["at_ms"].get<long long>() <= recent[i - 1]["at_ms"].get<long long>());
        }
        CPPUNIT_ASSERT_EQUAL(1, ollamaChats);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), session.get("/console/api/requests?status=5xx&tenant=" + _userTenant).json()["requests"].size());
        CPPUNIT_ASSERT_EQUAL(400, session.get("/console/api/usage?by=weather").status);
        CPPUNIT_ASSERT_EQUAL(400, session.get("/console/api/usage?from_ms=abc").status);
        CPPUNIT_ASSERT_EQUAL(400, session.get("/console/api/requests?status=7xx").status);
    }

protected:
    virtual StoreKind storeKind() const = 0;

    std::unique_ptr<AuthDeployment> _deployment;
    std::unique_ptr<FakeBackend> _backend;
    std::unique_ptr<TestGateway> _gateway;
    std::string _adminTenant, _adminKey, _userTenant, _userKey;
};

#define SLUICE_CONSOLE_CASES                                                              \
    CPPUNIT_TEST(anOrdinaryKeyGetsNoPageAndNoApi);                                        \
    CPPUNIT_TEST(loginSetsAStrictCookieAndAnswersCarryTheirPolicy);                       \
    CPPUNIT_TEST(everyChangeNeedsItsTokenJsonAndTheOwnOrigin);                            \
    CPPUNIT_TEST(aKeyMadeInTheConsoleWorksUntilRevokedThereAndEachChangeIsInTheTrail);    \
    CPPUNIT_TEST(revokingTheAdminKeyOrItsFlagEndsItsSession);                             \
    CPPUNIT_TEST(usageAndRecentRequestsComeFromTheAuditStore)

class SqliteConsoleTest : public ConsoleCases {
    CPPUNIT_TEST_SUITE(SqliteConsoleTest);
    SLUICE_CONSOLE_CASES;
    CPPUNIT_TEST(theConsoleIsOffUnlessEnabledAndNeedsApikeyAuth);
    CPPUNIT_TEST(overHttpsTheCookieIsSecure);
    CPPUNIT_TEST_SUITE_END();

public:
    void overHttpsTheCookieIsSecure() {
        ScratchDir scratch("sluice-console-tls");
        const auto cert = (scratch.path / "cert.pem").string(), key = (scratch.path / "key.pem").string();
        const auto command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout " + key + " -out " + cert +
                             " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null";
        CPPUNIT_ASSERT_EQUAL_MESSAGE(command, 0, std::system(command.c_str()));
        FakeBackend backend("ollama", "box");
        TestGateway tls(_deployment->configWith(backend) + "console.enabled = true\nserver.tls.cert = " + cert +
                        "\nserver.tls.key = " + key + "\n");
        HttpClient client(tls.port(), std::chrono::seconds(30), true);
        const auto answer = client.post("/console/api/login", "{}",
                                        {{"Authorization", "Bearer " + _adminKey}, {"Content-Type", "application/json"}});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, 200, answer.status);
        const auto cookie = answer.header("set-cookie");
        CPPUNIT_ASSERT_MESSAGE(cookie, contains(cookie, "; Secure") && contains(cookie, "; HttpOnly"));
    }

    void theConsoleIsOffUnlessEnabledAndNeedsApikeyAuth() {
        FakeBackend backend("ollama", "box");
        TestGateway off(baseConfig() + "backends = gpu\n" + backendConfig("gpu", backend.url()));
        CPPUNIT_ASSERT_EQUAL(404, httpGet(off.port(), "/console/").status);
        CPPUNIT_ASSERT_EQUAL(404, httpPost(off.port(), "/console/api/login", "{}").status);
        // allow-all cannot tell an admin: sluiced refuses to start, naming the key.
        const auto refused = startExpectingFailure(baseConfig() + "console.enabled = true\nbackends = gpu\n" + backendConfig("gpu", backend.url()));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(refused.output, 78, refused.exitCode);
        CPPUNIT_ASSERT_MESSAGE(refused.output, contains(refused.output, "console.enabled"));
        // Nor may a reload take the console to an auth stage that cannot tell an admin.
        TestGateway on(_deployment->configWith(backend));
        on.rewriteConfig(baseConfig() + "console.enabled = true\nbackends = gpu\n" + backendConfig("gpu", backend.url()));
        on.reload();
        CPPUNIT_ASSERT_MESSAGE(on.output(), eventually([&] { return contains(on.output(), "reload refused"); }));
        CPPUNIT_ASSERT_MESSAGE(on.output(), contains(on.output().substr(on.output().rfind("reload refused")), "console.enabled"));
        const auto noAssets = startExpectingFailure(_deployment->configWith(backend) + "console.enabled = true\nconsole.assets_path = /nonexistent\n");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(noAssets.output, 78, noAssets.exitCode);
        CPPUNIT_ASSERT_MESSAGE(noAssets.output, contains(noAssets.output, "console.assets_path"));
    }

protected:
    StoreKind storeKind() const override { return StoreKind::SQLite; }
};

class PostgresConsoleTest : public ConsoleCases {
    CPPUNIT_TEST_SUITE(PostgresConsoleTest);
    SLUICE_CONSOLE_CASES;
    CPPUNIT_TEST_SUITE_END();

protected:
    StoreKind storeKind() const override { return StoreKind::PostgreSQL; }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SqliteConsoleTest);
CPPUNIT_TEST_SUITE_REGISTRATION(PostgresConsoleTest);

} // namespace sluice::test
