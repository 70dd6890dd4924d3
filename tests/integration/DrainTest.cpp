// SIGTERM on the real sluiced: it stops accepting, lets running requests and
// streams finish within server.drain_s, ends what still runs then with the
// protocol's own error (an NDJSON error line, an SSE error event, a 503 in
// the client's shape), writes every audit record, and exits 0.

#include <csignal>
#include <future>
#include <thread>

#include <cppunit/extensions/HelperMacros.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "ScratchDir.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {

using namespace std::chrono_literals;

struct Answer {
    int status = 0;
    std::string body;
};

// Sends in the background; the answer when it is whole.
std::future<Answer> sendLater(int port, const std::string& path, const std::string& body, const std::string& id) {
    return std::async(std::launch::async, [=] {
        try {
            const auto result = HttpClient(port).post(path, body, {{"X-Request-ID", id}});
            return Answer{result.status, result.body};
        } catch (const std::exception& e) {
            return Answer{0, e.what()};
        }
    });
}

bool refusesConnections(int port) {
    try {
        HttpClient(port, 2s).get("/healthz");
        return false;
    } catch (const std::exception&) {
        return true;
    }
}

} // namespace

class DrainTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DrainTest);
    CPPUNIT_TEST(runningStreamsFinishWithinTheDrainTime);
    CPPUNIT_TEST(pastTheDrainTimeRequestsEndWithTheProtocolsError);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _scratch = std::make_unique<ScratchDir>("sluice-drain-it");
        _backend = std::make_unique<FakeBackend>("ollama", "gpu-box");
    }
    void tearDown() override {
        _backend.reset();
        _scratch.reset();
    }

    std::string config(int drainSeconds) const {
        return baseConfig() + "backends = gpu\n" + backendConfig("gpu", _backend->url()) +
               "server.drain_s = " + std::to_string(drainSeconds) + "\n" + countingSinkConfig(_scratch->path) +
               "audit.flush_ms = 60000\n";  // only the stop writes them
    }

    std::vector<std::string> auditedIds() const {
        auto ids = linesOf(_scratch->path / "ids");
        std::sort(ids.begin(), ids.end());
        return ids;
    }

    void runningStreamsFinishWithinTheDrainTime() {
        _backend->setRules({{{"chunks", 10}, {"chunk_interval_ms", 100}, {"times", 1000}}});  // ~1 s streams
        TestGateway gateway(config(20));
        std::vector<std::future<Answer>> answers;
        std::vector<std::string> ids;
        for (int i = 0; i < 6; ++i) {
            ids.push_back("finish-" + std::to_string(i));
            answers.push_back(sendLater(gateway.port(), "/api/chat", ollamaChat("llama3.2", true), ids.back()));
        }
        CPPUNIT_ASSERT(eventually([&] { return _backend->stats().value("in_flight", 0) == 6; }));
        gateway.process().terminate(SIGTERM);
        CPPUNIT_ASSERT_MESSAGE(gateway.output(), eventually([&] { return refusesConnections(gateway.port()); }));
        for (auto& future : answers) {
            const auto answer = future.get();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, 200, answer.status);
            const auto lines = ndjsonLines(answer.body);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(answer.body, std::size_t(11), lines.size());  // 10 chunks and the final object
            CPPUNIT_ASSERT_MESSAGE(answer.body, lines.back().value("done", false));
        }
        CPPUNIT_ASSERT_EQUAL_MESSAGE(gateway.output(), 0, gateway.process().waitForExit(20s).value_or(-1));
        std::sort(ids.begin(), ids.end());
        CPPUNIT_ASSERT(auditedIds() == ids);
    }

    void pastTheDrainTimeRequestsEndWithTheProtocolsError() {
        _backend->setRules({{{"path", "/api/generate"}, {"delay_first_byte_ms", 20000}, {"times", 10}},
                            {{"chunks", 200}, {"chunk_interval_ms", 100}, {"times", 1000}}});  // 20 s streams
        TestGateway gateway(config(1));
        const int port = gateway.port();
        auto ollamaStream = sendLater(port, "/api/chat", ollamaChat("llama3.2", true), "cut-ollama");
        auto openAiStream = sendLater(port, "/v1/chat/completions", openAiChat("llama3.2", true), "cut-openai");
        auto waiting = sendLater(port, "/api/generate", R"({"model":"llama3.2","prompt":"hi","stream":false})", "cut-waiting");
        CPPUNIT_ASSERT(eventually([&] { return _backend->stats().value("in_flight", 0) == 3; }));
        gateway.process().terminate(SIGTERM);
        // Bounded: the test fails if the process does not end soon after its 1 s.
        CPPUNIT_ASSERT_EQUAL_MESSAGE(gateway.output(), 0, gateway.process().waitForExit(15s).value_or(-1));

        const auto ndjson = ollamaStream.get();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(ndjson.body, 200, ndjson.status);
        const auto lines = ndjsonLines(ndjson.body);
        CPPUNIT_ASSERT(lines.size() >= 2);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(ndjson.body, std::string("the gateway is shutting down"), lines.back().value("error", ""));

        const auto sse = openAiStream.get();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(sse.body, 200, sse.status);
        const auto events = sseData(sse.body);
        CPPUNIT_ASSERT(events.size() >= 2);
        const auto last = nlohmann::json::parse(events.back());
        CPPUNIT_ASSERT_EQUAL_MESSAGE(sse.body, std::string("shutting_down"), last["error"].value("code", ""));

        const auto whole = waiting.get();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(whole.body, 503, whole.status);
        CPPUNIT_ASSERT_EQUAL(std::string("the gateway is shutting down"), nlohmann::json::parse(whole.body).value("error", ""));

        // Ended, not lost: each has its audit record.
        CPPUNIT_ASSERT(auditedIds() == std::vector<std::string>({"cut-ollama", "cut-openai", "cut-waiting"}));
        // The backend was not blamed for the gateway's stop.
        CPPUNIT_ASSERT(gateway.output().find("trying the next candidate") == std::string::npos);
    }

private:
    std::unique_ptr<ScratchDir> _scratch;
    std::unique_ptr<FakeBackend> _backend;
};

CPPUNIT_TEST_SUITE_REGISTRATION(DrainTest);

} // namespace sluice::test
