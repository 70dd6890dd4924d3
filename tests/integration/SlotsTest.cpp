// Backend slots and the queue in front of them (docs/capacity.md), against
// a fake whose max_in_flight is the referee: a backend never has more than
// its slots from the gateway, a request past queue.max_wait_ms is answered
// 503 with Retry-After in its protocol's shape, and a queued client that
// hangs up never reaches the backend.

#include <atomic>
#include <thread>
#include <vector>

#include <cppunit/extensions/HelperMacros.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
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

// Sends a streamed chat that the fake holds open (hang_after_chunks), and
// keeps its connection until destroyed: the slot stays taken meanwhile.
class HeldStream {
public:
    explicit HeldStream(int port) {
        _socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
        const auto body = ollamaChat("llama3.2", true);
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
};

CPPUNIT_TEST_SUITE_REGISTRATION(SlotsTest);

} // namespace

} // namespace sluice::test
