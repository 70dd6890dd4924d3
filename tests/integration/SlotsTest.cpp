// Backend slots and the queue in front of them (docs/capacity.md), against
// a fake whose max_in_flight is the referee: a backend never has more than
// its slots from the gateway, a request past queue.max_wait_ms is answered
// 503 with Retry-After in its protocol's shape, and a queued client that
// hangs up never reaches the backend.

#include <algorithm>
#include <atomic>
#include <future>
#include <sstream>
#include <thread>
#include <vector>

#include <cppunit/extensions/HelperMacros.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "AuthDeployment.h"
#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "RedisServer.h"
#include "sluice/redis/Client.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {

using namespace std::chrono_literals;

// The value of an unlabelled gauge on /metrics, -1 if absent.
long long gauge(int port, const std::string& name) {
    const auto page = httpGet(port, "/metrics").body;
    const auto at = page.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoll(page.substr(at + name.size() + 2));
}

// The value of the first series of `name` whose labels include every one of
// `labels` (name="value" each), -1 if none.
double seriesWith(const std::string& page, const std::string& name, const std::vector<std::string>& labels) {
    std::istringstream lines(page);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(name + "{", 0) != 0) continue;
        if (std::all_of(labels.begin(), labels.end(), [&](const std::string& label) { return line.find(label) != std::string::npos; }))
            return std::stod(line.substr(line.rfind(' ') + 1));
    }
    return -1;
}

// Sends a streamed chat that the fake holds open (hang_after_chunks), and
// keeps its connection until destroyed: the slot stays taken meanwhile.
class HeldStream {
public:
    explicit HeldStream(int port, const std::string& model = "llama3.2") {
        _socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
        const auto body = ollamaChat(model, true);
        const auto request = "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body;
        _socket.sendBytes(request.data(), static_cast<int>(request.size()));
    }
    ~HeldStream() { _socket.close(); }

private:
    Poco::Net::StreamSocket _socket;
};

class SlotsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SlotsTest);
    CPPUNIT_TEST(aBackendNeverHasMoreThanItsSlots);
    CPPUNIT_TEST(aRequestPastMaxWaitIs503WithRetryAfter);
    CPPUNIT_TEST(aQueuedClientThatHangsUpNeverReachesTheBackend);
    CPPUNIT_TEST(aBatchFloodHoldsAnInteractiveRequestForOneGenerationAtMost);
    CPPUNIT_TEST(twoInstancesSharingRedisKeepABackendWithinItsSlots);
    CPPUNIT_TEST(aBackendThatSaysServerBusyKeepsItsCircuit);
    CPPUNIT_TEST(leastBusySeesTheOtherInstancesLoad);
    CPPUNIT_TEST_SUITE_END();

public:
    void aBackendNeverHasMoreThanItsSlots() {
        OneBackendGateway setup("backends.gpu.slots = 2\n");
        // Each answer takes a while, so without slots all eight would be in at once.
        setup.backend.setRules({{{"path", "/api/chat"}, {"delay_first_byte_ms", 150}, {"chunk_interval_ms", 30}}});
        std::atomic<int> ok{0};
        std::vector<std::thread> clients;
        for (int i = 0; i < 8; ++i)
            clients.emplace_back([&, i] {
                const auto answer = httpPost(setup.gateway.port(), "/api/chat", ollamaChat("llama3.2", i % 2 == 0));
                if (answer.status == 200) ++ok;
            });
        for (auto& client : clients) client.join();
        const auto stats = setup.backend.stats();
        CPPUNIT_ASSERT_EQUAL(8, ok.load());
        CPPUNIT_ASSERT_EQUAL(8, chatsAt(setup.backend));
        CPPUNIT_ASSERT_EQUAL(2, stats["max_in_flight"].get<int>());
        CPPUNIT_ASSERT_EQUAL(0LL, gauge(setup.gateway.port(), "sluice_queue_depth"));
    }

    void aRequestPastMaxWaitIs503WithRetryAfter() {
        OneBackendGateway setup("backends.gpu.slots = 1\nqueue.max_wait_ms = 300\n");
        setup.backend.setRules({{{"path", "/api/chat"}, {"hang_after_chunks", 1}}});
        HeldStream held(setup.gateway.port());
        CPPUNIT_ASSERT(eventually([&] { return setup.backend.stats()["in_flight"].get<int>() == 1; }));
        // /v1/health shows the slot taken and the queue's bounds.
        const auto health = httpGet(setup.gateway.port(), "/v1/health").json();
        const auto& slots = health["backends"][0]["slots"];
        CPPUNIT_ASSERT_MESSAGE(health.dump(), slots.is_object());
        CPPUNIT_ASSERT_EQUAL(1, slots["limit"].get<int>());
        CPPUNIT_ASSERT_EQUAL(1, slots["in_use_here"].get<int>());
        CPPUNIT_ASSERT(slots["saturated_for_ms"].is_null());
        CPPUNIT_ASSERT_EQUAL(300, health["queue"]["max_wait_ms"].get<int>());
        CPPUNIT_ASSERT_EQUAL(0, health["queue"]["depth"].get<int>());
        CPPUNIT_ASSERT(!health["queue"]["shared"].get<bool>());
        // OpenAI's shape for an OpenAI route.
        const auto answer = httpPost(setup.gateway.port(), "/v1/chat/completions", openAiChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(503, answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("1"), answer.header("retry-after"));
        const auto error = answer.json();
        CPPUNIT_ASSERT_EQUAL(std::string("queue_timeout"), error["error"]["code"].get<std::string>());
        CPPUNIT_ASSERT(error["error"]["message"].is_string());
        // Ollama's shape for an Ollama route.
        const auto ollama = httpPost(setup.gateway.port(), "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(503, ollama.status);
        CPPUNIT_ASSERT(ollama.json()["error"].is_string());
        CPPUNIT_ASSERT_EQUAL(1, chatsAt(setup.backend));  // only the held one reached it
        CPPUNIT_ASSERT(httpGet(setup.gateway.port(), "/metrics").body.find("sluice_requests_shed_total{reason=\"queue_timeout\"} 2") !=
                       std::string::npos);
    }

    void aQueuedClientThatHangsUpNeverReachesTheBackend() {
        OneBackendGateway setup("backends.gpu.slots = 1\n");
        setup.backend.setRules({{{"path", "/api/chat"}, {"hang_after_chunks", 1}, {"times", 1}}});
        auto held = std::make_unique<HeldStream>(setup.gateway.port());
        CPPUNIT_ASSERT(eventually([&] { return setup.backend.stats()["in_flight"].get<int>() == 1; }));
        {
            HeldStream queued(setup.gateway.port());
            CPPUNIT_ASSERT(eventually([&] { return gauge(setup.gateway.port(), "sluice_queue_depth") == 1; }));
        }  // hangs up while queued
        CPPUNIT_ASSERT(eventually([&] { return gauge(setup.gateway.port(), "sluice_queue_depth") == 0; }));
        held.reset();  // the slot frees; nobody is waiting for it
        CPPUNIT_ASSERT(eventually([&] { return setup.backend.stats()["in_flight"].get<int>() == 0; }));
        const auto after = httpPost(setup.gateway.port(), "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(200, after.status);
        CPPUNIT_ASSERT_EQUAL(2, chatsAt(setup.backend));  // the held one and the last: never the one that left
    }

    // One slot, a batch tenant's 200 requests queued behind it, and an
    // interactive tenant's requests arriving meanwhile: each of these waits
    // for the generation in progress and no other. The referee is the
    // backend's count of chats, not a clock.
    void aBatchFloodHoldsAnInteractiveRequestForOneGenerationAtMost() {
        FakeBackend backend("ollama", "local");
        backend.setRules({{{"path", "/api/chat"}, {"delay_first_byte_ms", 40}}});
        AuthDeployment deployment(StoreKind::SQLite, nullptr,
                                  "backends.local.slots = 1\nqueue.max_wait_ms = 600000\ntimeout.request_ms = 600000\n"
                                  "pipeline.audit = sqlite\naudit.flush_ms = 100\n");
        TestGateway gateway(deployment.configWith(backend));
        const auto batchTenant = deployment.createTenant("nightly", {"--all-models", "--priority", "batch"});
        const auto chatTenant = deployment.createTenant("chat", {"--all-models"});
        const auto batchKey = deployment.createKey(batchTenant);
        const auto chatKey = deployment.createKey(chatTenant);

        constexpr int kClients = 20;
        constexpr int kEach = 10;
        std::atomic<int> batchOk{0};
        // Joined however the test ends: an assertion must fail it, not abort it.
        struct Joined : std::vector<std::thread> {
            ~Joined() {
                for (auto& thread : *this)
                    if (thread.joinable()) thread.join();
            }
        } flood;
        for (int c = 0; c < kClients; ++c)
            flood.emplace_back([&] {
                HttpClient client(gateway.port(), std::chrono::seconds(600));
                for (int i = 0; i < kEach; ++i)
                    if (client.post("/api/chat", ollamaChat("llama3.2", false), bearer(batchKey)).status == 200) ++batchOk;
            });
        auto depth = [&] {
            return metricValue(httpGet(gateway.port(), "/metrics", bearer(chatKey)).body, "sluice_queue_depth");
        };
        CPPUNIT_ASSERT(eventually([&] { return depth() >= kClients - 2; }, std::chrono::seconds(30)));
        // Who waits, by priority and tenant.
        const auto page = httpGet(gateway.port(), "/metrics", bearer(chatKey)).body;
        CPPUNIT_ASSERT(seriesWith(page, "sluice_queue_waiting", {"priority=\"batch\"", "tenant=\"" + batchTenant + "\""}) >= 5);

        HttpClient chat(gateway.port(), std::chrono::seconds(600));
        int measured = 0;
        for (int i = 0; i < 5; ++i) {
            CPPUNIT_ASSERT(depth() >= 5);  // the backlog is still there
            auto pending = std::async(std::launch::async, [&] {
                return chat.post("/api/chat", ollamaChat("llama3.2", false), bearer(chatKey));
            });
            auto done = [&] { return pending.wait_for(std::chrono::seconds(0)) == std::future_status::ready; };
            // Counted from when it is seen waiting (not from when it was
            // sent: on a loaded machine a batch generation or two may end
            // before it even reaches the queue): from then on the next slot
            // is its own, interactive before batch.
            bool waiting = false;
            CPPUNIT_ASSERT(eventually([&] {
                const auto page = httpGet(gateway.port(), "/metrics", bearer(chatKey)).body;
                waiting = seriesWith(page, "sluice_queue_waiting", {"priority=\"interactive\""}) >= 1;
                return waiting || done();
            }));
            const int before = chatsAt(backend);
            const auto answer = pending.get();
            const int after = chatsAt(backend);
            CPPUNIT_ASSERT_EQUAL(200, answer.status);
            if (!waiting) continue;  // served before it was seen: nothing to count
            ++measured;
            // At most the batch request granted the slot before it was
            // queued (the backend may count it only now), then its own.
            CPPUNIT_ASSERT_MESSAGE(std::to_string(after - before) + " chats reached the backend meanwhile", after - before <= 2);
        }
        CPPUNIT_ASSERT(measured >= 1);  // the check above ran
        for (auto& client : flood) client.join();
        // Nothing lost, nothing served twice.
        CPPUNIT_ASSERT_EQUAL(kClients * kEach, batchOk.load());
        CPPUNIT_ASSERT_EQUAL(kClients * kEach + 5, chatsAt(backend));
        CPPUNIT_ASSERT_EQUAL(1, backend.stats()["max_in_flight"].get<int>());

        // The audit trail says who waited.
        std::vector<nlohmann::json> rows;
        CPPUNIT_ASSERT(eventually([&] {
            const auto tail = deployment.ctl({"--json", "audit", "tail", "--tenant", batchTenant, "--since", "1h", "--limit", "500"});
            rows = ndjsonLines(tail.output);
            return rows.size() == static_cast<std::size_t>(kClients * kEach);
        }));
        const auto waited = std::count_if(rows.begin(), rows.end(), [](const nlohmann::json& row) {
            return row.value("queue_ms", 0) >= 40;  // at least one generation
        });
        CPPUNIT_ASSERT(waited > kClients * kEach / 2);
    }

    // Each instance alone would put two on the backend; together they may
    // not either: the slots are leases in Redis. A client that hangs up
    // while queued on one instance never reaches the backend through it.
    void twoInstancesSharingRedisKeepABackendWithinItsSlots() {
        RedisServer redis;
        FakeBackend backend("ollama", "gpu-box");
        backend.setRules({{{"path", "/api/chat"}, {"delay_first_byte_ms", 150}, {"chunk_interval_ms", 20}}});
        const auto config = baseConfig() + "backends = gpu\n" + backendConfig("gpu", backend.url()) +
                            "backends.gpu.slots = 2\nredis.url = " + redis.url() + "\n";
        TestGateway one(config);
        TestGateway two(config);
        std::atomic<int> ok{0};
        {
            std::vector<std::thread> clients;
            for (int i = 0; i < 12; ++i)
                clients.emplace_back([&, i] {
                    const auto port = i % 2 == 0 ? one.port() : two.port();
                    if (httpPost(port, "/api/chat", ollamaChat("llama3.2", i % 3 == 0)).status == 200) ++ok;
                });
            for (auto& client : clients) client.join();
        }
        CPPUNIT_ASSERT_EQUAL(12, ok.load());
        CPPUNIT_ASSERT_EQUAL(12, chatsAt(backend));
        CPPUNIT_ASSERT_EQUAL(2, backend.stats()["max_in_flight"].get<int>());
        // Every lease was given back.
        redis::Client client(redis::RedisUrl::parse(redis.url()), std::chrono::seconds(2));
        CPPUNIT_ASSERT(eventually([&] { return client.command({"ZCARD", "sluice:slots:{gpu}"}).integer() == 0; }));
    }

    // Ollama's 503 "server busy" is its own queue being full: the request
    // waits for the backend (here the only one) instead of failing, and the
    // circuit, which two failures would open, stays closed.
    void aBackendThatSaysServerBusyKeepsItsCircuit() {
        OneBackendGateway setup("backends.gpu.slots = 4\nhealth.failure_threshold = 2\nretry.attempts = 3\n");
        setup.backend.setRules({{{"path", "/api/chat"},
                                 {"status", 503},
                                 {"message", "server busy, please try again.  maximum pending requests exceeded"},
                                 {"times", 3}}});
        const auto answer = httpPost(setup.gateway.port(), "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, 200, answer.status);
        CPPUNIT_ASSERT_EQUAL(4, chatsAt(setup.backend));
        const auto page = httpGet(setup.gateway.port(), "/metrics").body;
        CPPUNIT_ASSERT_EQUAL(1.0, metricValue(page, "sluice_backend_healthy{backend=\"gpu\"}"));
        CPPUNIT_ASSERT_EQUAL(3.0, metricValue(page, "sluice_backend_saturated_total{backend=\"gpu\"}"));
        const auto health = httpGet(setup.gateway.port(), "/v1/health").json();
        CPPUNIT_ASSERT_MESSAGE(health.dump(), health.dump().find("open") == std::string::npos);
    }

    // A stream held through one instance on backend `a` makes the other
    // instance's least-busy router prefer `b`, though it has nothing on
    // either itself (its own count alone would keep the listed order, `a` first).
    void leastBusySeesTheOtherInstancesLoad() {
        RedisServer redis;
        // Only a hosts qwen2.5: the held streams go there whatever the load.
        FakeBackend a("ollama", "a-box", std::vector<std::string>{"--models", "llama3.2,qwen2.5"});
        FakeBackend b("ollama", "b-box", std::vector<std::string>{"--models", "llama3.2"});
        a.setRules({{{"path", "/api/chat"}, {"hang_after_chunks", 1}, {"times", 2}}});
        const auto config = baseConfig() + "backends = a, b\n" + backendConfig("a", a.url()) + backendConfig("b", b.url()) +
                            "backends.a.slots = 4\nbackends.b.slots = 4\npipeline.router = least-busy\nredis.url = " +
                            redis.url() + "\n";
        TestGateway one(config);
        TestGateway two(config);
        // Discovery has seen both before the plans may list them.
        CPPUNIT_ASSERT(eventually([&] { return httpGet(two.port(), "/readyz").status == 200; }));
        // Two streams held through one on a. Two, not one: the request the
        // other instance just answered on b may still hold its slot for a
        // moment after its client has the answer (its lease goes back as the
        // request ends), and b must stay the less busy even then.
        HeldStream first(one.port(), "qwen2.5");
        CPPUNIT_ASSERT(eventually([&] { return a.stats()["in_flight"].get<int>() == 1; }));
        HeldStream second(one.port(), "qwen2.5");
        CPPUNIT_ASSERT(eventually([&] { return a.stats()["in_flight"].get<int>() == 2; }));
        auto servedBy = [&] {
            return httpPost(two.port(), "/api/chat", ollamaChat("llama3.2", false)).header("x-sluice-backend");
        };
        CPPUNIT_ASSERT(eventually([&] { return servedBy() == "b"; }));
        // Its own finished requests on b never count against b for long (the
        // fleet count is this instance's exact one plus the others' as last
        // read): a snapshot of the whole set would, for up to 250 ms.
        for (int i = 0; i < 10; ++i) CPPUNIT_ASSERT_EQUAL(std::string("b"), servedBy());
        // Both instances' health shows the fleet's count on `a`, and only one has it here.
        const auto health = httpGet(two.port(), "/v1/health").json();
        CPPUNIT_ASSERT_MESSAGE(health.dump(), health["queue"]["shared"].get<bool>());
        const auto& slotsOfA = health["backends"][0]["slots"];
        CPPUNIT_ASSERT_EQUAL(0, slotsOfA["in_use_here"].get<int>());
        CPPUNIT_ASSERT_EQUAL(2, slotsOfA["in_use_fleet"].get<int>());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SlotsTest);

} // namespace

} // namespace sluice::test
