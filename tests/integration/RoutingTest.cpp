// Routing strategies, circuit breaking and aliases through the real sluiced
// and fake backends: what each strategy does to real traffic, how a failing
// backend is skipped and taken back, and how an alias chain fails over
// across providers. Strategy orderings in detail: tests/unit StrategiesTest.

#include <cppunit/extensions/HelperMacros.h>

#include <map>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {
std::string chatWith(const std::string& model, const std::string& firstUser, const std::string& later = {}) {
    auto messages = nlohmann::json::array({{{"role", "system"}, {"content", "You are terse."}},
                                           {{"role", "user"}, {"content", firstUser}}});
    if (!later.empty()) {
        messages.push_back({{"role", "assistant"}, {"content", "Sure."}});
        messages.push_back({{"role", "user"}, {"content", later}});
    }
    return nlohmann::json{{"model", model}, {"messages", messages}, {"stream", false}}.dump();
}

nlohmann::json backendIn(const nlohmann::json& health, const std::string& name) {
    for (const auto& backend : health.at("backends"))
        if (backend.at("name") == name) return backend;
    return nullptr;
}

nlohmann::json healthOf(int port, const std::string& backend) {
    return backendIn(nlohmann::json::parse(httpGet(port, "/v1/health").body), backend);
}

// The first model circuit /v1/health shows for a backend, or {} when none.
nlohmann::json modelCircuitOf(int port, const std::string& backend) {
    const auto circuits = healthOf(port, backend).at("model_circuits");
    return circuits.empty() ? nlohmann::json::object() : circuits.at(0);
}

bool hasLine(const std::string& metrics, const std::string& line) { return metrics.find(line) != std::string::npos; }
} // namespace

class RoutingTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RoutingTest);
    CPPUNIT_TEST(everyStrategyServesByItsName);
    CPPUNIT_TEST(roundRobinTakesTurns);
    CPPUNIT_TEST(latencySteersAwayFromASlowBackend);
    CPPUNIT_TEST(residentPicksTheBackendWithTheModelLoaded);
    CPPUNIT_TEST(affinityKeepsAConversationAndMovesItWhenItsBackendDies);
    CPPUNIT_TEST(circuitOpensAfterFailuresAndClosesAfterRecovery);
    CPPUNIT_TEST(backendCircuitOpensWhenItCannotBeReached);
    CPPUNIT_TEST(activeProbesOpenAndCloseCircuitsWithoutClientRequests);
    CPPUNIT_TEST(notFoundFailsOverWithoutOpeningTheCircuit);
    CPPUNIT_TEST(aChainDoesNotAskADeadBackendTwice);
    CPPUNIT_TEST(aTimedOutModelDoesNotRuleOutItsBackend);
    CPPUNIT_TEST(aliasChainFallsThroughAFailingProvider);
    CPPUNIT_TEST(aliasesAreListedAndTheDefaultServesRequestsWithoutAModel);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        for (const char* name : {"one", "two", "three"}) _fakes.push_back(std::make_unique<FakeBackend>("ollama", name));
    }
    void tearDown() override { _fakes.clear(); }

    // A gateway in front of the first `count` fakes, named a, b, c.
    std::unique_ptr<TestGateway> gateway(std::size_t count, const std::string& extra) {
        static const char* names[] = {"a", "b", "c"};
        std::string config = baseConfig() + "backends = ";
        for (std::size_t i = 0; i < count; ++i) config += std::string(i ? ", " : "") + names[i];
        config += "\n";
        for (std::size_t i = 0; i < count; ++i) config += backendConfig(names[i], _fakes[i]->url());
        return std::make_unique<TestGateway>(config + extra);
    }

    static std::string servedBy(int port, const std::string& body = ollamaChat("llama3.2", false)) {
        const auto answer = httpPost(port, "/api/chat", body);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, 200, answer.status);
        return answer.header("x-sluice-backend");
    }

    void everyStrategyServesByItsName() {
        for (const char* strategy : {"priority", "round-robin", "weighted", "least-busy", "latency", "resident", "affinity"}) {
            auto sluice = gateway(2, std::string("pipeline.router = ") + strategy + "\n");
            const auto served = servedBy(sluice->port());
            CPPUNIT_ASSERT_MESSAGE(strategy, served == "a" || served == "b");
        }
        const auto refused = startExpectingFailure(baseConfig() + "backends = a\n" + backendConfig("a", _fakes[0]->url()) +
                                                   "pipeline.router = fastest\n");
        CPPUNIT_ASSERT(refused.output.find("unknown stage 'fastest'") != std::string::npos);
        CPPUNIT_ASSERT(refused.output.find("latency") != std::string::npos);  // the available ones are named
    }

    void roundRobinTakesTurns() {
        auto sluice = gateway(3, "pipeline.router = round-robin\n");
        std::string turns;
        for (int i = 0; i < 6; ++i) turns += servedBy(sluice->port());
        CPPUNIT_ASSERT_EQUAL(std::string("abcabc"), turns);
    }

    void latencySteersAwayFromASlowBackend() {
        // b takes 400 ms to its first byte; a and c answer at once.
        _fakes[1]->setRules({{{"delay_first_byte_ms", 400}, {"times", 1000}}});
        auto sluice = gateway(3, "pipeline.router = latency\nrouter.explore_ratio = 0\n");
        std::map<std::string, int> served;
        for (int i = 0; i < 12; ++i) served[servedBy(sluice->port())]++;
        // Each backend is timed once (untimed ones go first), then b is avoided.
        CPPUNIT_ASSERT_EQUAL(1, served["b"]);
        CPPUNIT_ASSERT_EQUAL(11, served["a"] + served["c"]);
        CPPUNIT_ASSERT_EQUAL(1, chatsAt(*_fakes[1]));
        CPPUNIT_ASSERT(healthOf(sluice->port(), "b").at("first_byte_ms_avg").get<double>() >= 400.0);
    }

    void residentPicksTheBackendWithTheModelLoaded() {
        _fakes.clear();
        _fakes.push_back(std::make_unique<FakeBackend>("ollama", "one", std::vector<std::string>{"--loaded=qwen2.5:0.5b"}));
        _fakes.push_back(std::make_unique<FakeBackend>("ollama", "two", std::vector<std::string>{"--loaded=llama3.2:latest"}));
        auto sluice = gateway(2, "pipeline.router = resident\n");
        for (int i = 0; i < 3; ++i) {
            CPPUNIT_ASSERT_EQUAL(std::string("b"), servedBy(sluice->port(), ollamaChat("llama3.2", false)));
            CPPUNIT_ASSERT_EQUAL(std::string("a"), servedBy(sluice->port(), ollamaChat("qwen2.5:0.5b", false)));
        }
    }

    void affinityKeepsAConversationAndMovesItWhenItsBackendDies() {
        auto sluice = gateway(3, "pipeline.router = affinity\n");
        const auto home = servedBy(sluice->port(), chatWith("llama3.2", "Plan a trip to Lisbon"));
        for (const char* turn : {"And a hotel?", "Which month?", "Thanks"})
            CPPUNIT_ASSERT_EQUAL(home, servedBy(sluice->port(), chatWith("llama3.2", "Plan a trip to Lisbon", turn)));
        // Other conversations land elsewhere too: the hash spreads them.
        std::map<std::string, int> spread;
        for (int i = 0; i < 30; ++i) spread[servedBy(sluice->port(), chatWith("llama3.2", "topic " + std::to_string(i)))]++;
        CPPUNIT_ASSERT(spread.size() >= 2);

        _fakes[static_cast<std::size_t>(home[0] - 'a')]->kill();
        const auto moved = servedBy(sluice->port(), chatWith("llama3.2", "Plan a trip to Lisbon", "Still there?"));
        CPPUNIT_ASSERT(moved != home);
        for (const char* turn : {"Again?", "Once more"})
            CPPUNIT_ASSERT_EQUAL(moved, servedBy(sluice->port(), chatWith("llama3.2", "Plan a trip to Lisbon", turn)));
    }

    void circuitOpensAfterFailuresAndClosesAfterRecovery() {
        // No retries: each request's one failure is one step of the circuit.
        // A 503 is the model failing, not the backend: the circuit that opens
        // is llama3.2's on a, and a's own stays closed.
        auto sluice = gateway(2, "health.failure_threshold = 2\nhealth.backoff_ms = 300\nretry.attempts = 0\n");
        const auto port = sluice->port();
        _fakes[0]->setRules({{{"status", 503}, {"times", 2}}});
        CPPUNIT_ASSERT_EQUAL(std::string("b"), servedBy(port));
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), modelCircuitOf(port, "a").at("state").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("b"), servedBy(port));

        auto a = healthOf(port, "a");
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), a.at("state").get<std::string>());
        auto model = modelCircuitOf(port, "a");
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), model.at("model").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("open"), model.at("state").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(2, model.at("consecutive_failures").get<int>());
        CPPUNIT_ASSERT(model.at("last_error").get<std::string>().find("status_5xx") != std::string::npos);
        CPPUNIT_ASSERT(model.at("unhealthy_until").is_number());
        const auto metrics = httpGet(port, "/metrics").body;
        CPPUNIT_ASSERT(hasLine(metrics, "sluice_model_healthy{backend=\"a\",model=\"llama3.2:latest\"} 0"));
        CPPUNIT_ASSERT(hasLine(metrics, "sluice_backend_healthy{backend=\"a\"} 1"));
        CPPUNIT_ASSERT(hasLine(metrics, "sluice_failover_total{from=\"a\",to=\"b\",reason=\"status_5xx\"} 2"));

        // While open, a is not even tried for that model: b serves straight away.
        const auto reachedA = chatsAt(*_fakes[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("b"), servedBy(port));
        if (modelCircuitOf(port, "a").value("state", "") == "open") CPPUNIT_ASSERT_EQUAL(reachedA, chatsAt(*_fakes[0]));

        // The model has recovered (its rule is spent). After the back-off one
        // request is its trial, closes the circuit, and a serves again.
        CPPUNIT_ASSERT(eventually([&] { return servedBy(port) == "a"; }));
        CPPUNIT_ASSERT(healthOf(port, "a").at("model_circuits").empty());
        CPPUNIT_ASSERT(hasLine(httpGet(port, "/metrics").body, "sluice_model_healthy{backend=\"a\",model=\"llama3.2:latest\"} 1"));
    }

    void backendCircuitOpensWhenItCannotBeReached() {
        auto sluice = gateway(2, "health.failure_threshold = 1\nhealth.backoff_ms = 60000\n");
        _fakes[0]->kill();
        CPPUNIT_ASSERT_EQUAL(std::string("b"), servedBy(sluice->port()));
        const auto a = healthOf(sluice->port(), "a");
        CPPUNIT_ASSERT_EQUAL(std::string("open"), a.at("state").get<std::string>());
        CPPUNIT_ASSERT(a.at("last_error").get<std::string>().find("connect_error") != std::string::npos);
        CPPUNIT_ASSERT(a.at("model_circuits").empty());
        CPPUNIT_ASSERT(hasLine(httpGet(sluice->port(), "/metrics").body, "sluice_backend_healthy{backend=\"a\"} 0"));
    }

    void activeProbesOpenAndCloseCircuitsWithoutClientRequests() {
        // a's health check fails while its chat would still work: only probes can tell.
        _fakes[0]->setRules({{{"path", "/api/version"}, {"status", 503}, {"times", 100000}}});
        auto sluice = gateway(2, "health.probe_interval_ms = 100\nhealth.failure_threshold = 2\nhealth.backoff_ms = 200\n");
        const auto port = sluice->port();
        CPPUNIT_ASSERT(eventually([&] { return healthOf(port, "a").at("state") != "closed"; }));
        CPPUNIT_ASSERT(healthOf(port, "a").at("last_error").get<std::string>().find("probe: /api/version answered 503") !=
                       std::string::npos);
        CPPUNIT_ASSERT_EQUAL(0, chatsAt(*_fakes[0]));  // no client request was spent finding out

        _fakes[0]->reset();
        CPPUNIT_ASSERT(eventually([&] { return healthOf(port, "a").at("state") == "closed"; }));
        CPPUNIT_ASSERT_EQUAL(0, chatsAt(*_fakes[0]));  // the probe was the half-open trial
        CPPUNIT_ASSERT_EQUAL(std::string("a"), servedBy(port));
    }

    void notFoundFailsOverWithoutOpeningTheCircuit() {
        // A model missing on a says nothing about a's health (its other models are fine).
        auto sluice = gateway(2, "health.failure_threshold = 2\n");
        _fakes[0]->setRules({{{"status", 404}, {"times", 3}}});
        for (int i = 0; i < 3; ++i) CPPUNIT_ASSERT_EQUAL(std::string("b"), servedBy(sluice->port()));
        const auto a = healthOf(sluice->port(), "a");
        CPPUNIT_ASSERT_EQUAL(std::string("closed"), a.at("state").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(0, a.at("consecutive_failures").get<int>());
        CPPUNIT_ASSERT_EQUAL(std::string("a"), servedBy(sluice->port()));
    }

    void aChainDoesNotAskADeadBackendTwice() {
        auto sluice = gateway(2, "aliases.team/x.chain = a/llama3.2, a/qwen2.5:0.5b, b/llama3.2\n");
        _fakes[0]->kill();
        const auto answer = httpPost(sluice->port(), "/api/chat", ollamaChat("team/x", false));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("b"), answer.header("x-sluice-backend"));
        const auto metrics = httpGet(sluice->port(), "/metrics").body;
        CPPUNIT_ASSERT(hasLine(metrics, "sluice_failover_total{from=\"a\",to=\"b\",reason=\"connect_error\"} 1"));
        CPPUNIT_ASSERT(!hasLine(metrics, "from=\"a\",to=\"a\""));
        CPPUNIT_ASSERT_EQUAL(1, healthOf(sluice->port(), "a").at("consecutive_failures").get<int>());
    }

    // One provider serving a primary and a fallback model (the common alias):
    // the primary's timeout or 5xx rules out that model only, not the backend.
    void aTimedOutModelDoesNotRuleOutItsBackend() {
        auto sluice = gateway(1, "aliases.team/y.chain = a/llama3.2, a/qwen2.5:0.5b\n"
                                 "backends.a.timeout.first_byte_ms = 500\nbackends.a.timeout.cold_load_ms = 500\n"
                                 "health.failure_threshold = 1000\n");
        // The primary never answers: no first byte, so the first-byte timeout.
        _fakes[0]->setRules({{{"model", "llama3.2"}, {"hang_after_chunks", 0}, {"times", 1}}});
        auto answer = httpPost(sluice->port(), "/api/chat", ollamaChat("team/y", false));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, 200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("a"), answer.header("x-sluice-backend"));
        CPPUNIT_ASSERT_EQUAL(std::string("qwen2.5:0.5b"), answer.header("x-sluice-model"));
        // A 5xx likewise, once its retry failed too.
        _fakes[0]->setRules({{{"model", "llama3.2"}, {"status", 500}}});
        answer = httpPost(sluice->port(), "/api/chat", ollamaChat("team/y", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("qwen2.5:0.5b"), answer.header("x-sluice-model"));
        const auto metrics = httpGet(sluice->port(), "/metrics").body;
        CPPUNIT_ASSERT(hasLine(metrics, "sluice_failover_total{from=\"a\",to=\"a\",reason=\"timeout\"} 1"));
        CPPUNIT_ASSERT(hasLine(metrics, "sluice_failover_total{from=\"a\",to=\"a\",reason=\"status_5xx\"} 1"));
    }

    void aliasChainFallsThroughAFailingProvider() {
        FakeBackend cloud("openai", "cloud", {"--models=gpt-4o-mini"});
        TestGateway sluice(baseConfig() + "backends = local, cloud\n" + backendConfig("local", _fakes[0]->url()) +
                           backendConfig("cloud", cloud.url(), "openai") +
                           "aliases.team/chat.chain = local/llama3.2, cloud/gpt-4o-mini\n"
                           "aliases.team/chat.description = Local first, cloud when it fails\n");
        const auto port = sluice.port();
        auto answer = httpPost(port, "/v1/chat/completions", openAiChat("team/chat", false));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("local"), answer.header("x-sluice-backend"));
        // The name the backend lists it by, as it was sent.
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), answer.header("x-sluice-model"));
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), nlohmann::json::parse(answer.body).at("model").get<std::string>());

        _fakes[0]->setRules({{{"status", 503}, {"times", 100}}});
        for (bool stream : {false, true}) {
            answer = httpPost(port, "/v1/chat/completions", openAiChat("team/chat", stream));
            CPPUNIT_ASSERT_EQUAL(200, answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string("cloud"), answer.header("x-sluice-backend"));
            CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o-mini"), answer.header("x-sluice-model"));
        }
        // Every chunk of the stream names the model that served it.
        int chunks = 0;
        for (const auto& data : sseData(answer.body)) {
            if (data == "[DONE]") continue;
            CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o-mini"), nlohmann::json::parse(data).at("model").get<std::string>());
            ++chunks;
        }
        CPPUNIT_ASSERT(chunks >= 5);
        // Served requests are counted once their answer is out: the last one
        // may be counted just after the client has read it.
        std::string metrics;
        CPPUNIT_ASSERT_MESSAGE(metrics, eventually([&] {
            metrics = httpGet(port, "/metrics").body;
            return hasLine(metrics, "sluice_alias_resolved_total{alias=\"team/chat\",target=\"local/llama3.2:latest\"} 1") &&
                   hasLine(metrics, "sluice_alias_resolved_total{alias=\"team/chat\",target=\"cloud/gpt-4o-mini\"} 2") &&
                   hasLine(metrics, "sluice_failover_total{from=\"local\",to=\"cloud\",reason=\"status_5xx\"} 2") &&
                   hasLine(metrics, "sluice_model_requests_total{backend=\"cloud\",model=\"gpt-4o-mini\"} 2");
        }));
    }

    void aliasesAreListedAndTheDefaultServesRequestsWithoutAModel() {
        auto sluice = gateway(1, "aliases.team/chat.chain = a/llama3.2\naliases.team/chat.description = The usual\n"
                                 "aliases.default = team/chat\n");
        const auto port = sluice->port();
        const auto aliases = nlohmann::json::parse(httpGet(port, "/v1/aliases").body);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, aliases.at("data").size());
        CPPUNIT_ASSERT_EQUAL(std::string("team/chat"), aliases["data"][0].at("name").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("The usual"), aliases["data"][0].at("description").get<std::string>());
        CPPUNIT_ASSERT(nlohmann::json({"a/llama3.2"}) == aliases["data"][0].at("chain"));

        // Aliases are listed with the models, in both protocols.
        const auto openAiList = nlohmann::json::parse(httpGet(port, "/v1/models").body);
        const auto ollamaList = nlohmann::json::parse(httpGet(port, "/api/tags").body);
        auto lists = [](const nlohmann::json& list, const char* field, const std::string& name) {
            return std::any_of(list.begin(), list.end(), [&](const nlohmann::json& m) { return m.at(field) == name; });
        };
        CPPUNIT_ASSERT(lists(openAiList.at("data"), "id", "team/chat"));
        CPPUNIT_ASSERT(lists(ollamaList.at("models"), "name", "team/chat"));
        CPPUNIT_ASSERT(lists(ollamaList.at("models"), "name", "llama3.2:latest"));

        const auto answer = httpPost(port, "/v1/chat/completions",
                                     R"({"messages":[{"role":"user","content":"hi"}]})");
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), answer.header("x-sluice-model"));
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"),
                             _fakes[0]->stats().at("last_request").at("body").at("model").get<std::string>());
        // Embeddings have no "usual" model: one must be named.
        CPPUNIT_ASSERT_EQUAL(400, httpPost(port, "/v1/embeddings", R"({"input":"hi"})").status);
    }

private:
    std::vector<std::unique_ptr<FakeBackend>> _fakes;
};

CPPUNIT_TEST_SUITE_REGISTRATION(RoutingTest);

} // namespace sluice::test
