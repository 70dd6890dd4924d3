// SIGHUP reloads the real sluiced: a new strategy and backend list under a
// steady streaming load with no request failed and new requests following
// the new strategy; a file that does not validate changing nothing; a plugin
// library and audit sink named by the new file loaded and used, with no
// record lost or written twice across the swap.

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <cppunit/extensions/HelperMacros.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "ScratchDir.h"
#include "SteadyLoad.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {

using namespace std::chrono_literals;

std::uint64_t generationOf(int port) { return httpGet(port, "/v1/health").json().value("config_generation", 0ULL); }

bool waitForGeneration(int port, std::uint64_t generation) {
    return eventually([&] { return generationOf(port) == generation; });
}

} // namespace

class ReloadTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ReloadTest);
    CPPUNIT_TEST(aNewStrategyAndBackendsUnderStreamingLoadFailNothing);
    CPPUNIT_TEST(aFileThatDoesNotValidateChangesNothing);
    CPPUNIT_TEST(aReloadLoadsANewlyNamedPluginAndLosesNoRecord);
    CPPUNIT_TEST(reloadAfterReloadUnderLoadFailsNothing);
    CPPUNIT_TEST_SUITE_END();

public:
    void aNewStrategyAndBackendsUnderStreamingLoadFailNothing() {
        std::unique_ptr<TestGateway> started;
        try {
            switchesStrategyUnderLoad(started);
        } catch (const std::exception& e) {
            CPPUNIT_FAIL(std::string(e.what()) + (started ? "\n" + started->output() : std::string(" (before the gateway)")));
        }
    }

    void switchesStrategyUnderLoad(std::unique_ptr<TestGateway>& started) {
        FakeBackend a("ollama", "box-a"), b("ollama", "box-b"), c("ollama", "box-c");
        // Streams of 10 chunks 30 ms apart: many are mid-stream at the swap.
        const nlohmann::json slowStreams = {{"chunks", 10}, {"chunk_interval_ms", 30}, {"times", 1000000}};
        a.setRules({slowStreams});
        b.setRules({slowStreams});
        auto late = slowStreams;
        late["delay_first_byte_ms"] = 150;  // c answers late: latency must learn to prefer b
        c.setRules({late});
        const auto backends = backendConfig("a", a.url()) + backendConfig("b", b.url()) + backendConfig("c", c.url());
        started = std::make_unique<TestGateway>(baseConfig() + backends + "backends = a, b\npipeline.router = priority\n");
        auto& gateway = *started;
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), generationOf(gateway.port()));

        SteadyLoad load(chatLoad(gateway.port(), 12, 30, 8s, "reload", true));
        load.start();
        load.sleepUntil(3s);
        // c first in the list: priority would now send everything to c, latency to b.
        gateway.rewriteConfig(baseConfig() + backends + "backends = c, b\npipeline.router = latency\nrouter.seed = 7\n");
        const auto reloadedBefore = load.elapsed();
        gateway.reload();
        CPPUNIT_ASSERT_MESSAGE(gateway.output(), waitForGeneration(gateway.port(), 2));
        const auto reloadedBy = load.elapsed();
        const auto samples = load.wait();

        std::map<std::string, int> before, after;
        for (const auto& sample : samples) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(sample.requestId + "\n" + gateway.output(), 200, sample.status);
            CPPUNIT_ASSERT_MESSAGE(sample.requestId + " ended with an error", !sample.errorInBody);
            if (sample.dueAt < reloadedBefore) ++before[sample.backend];
            if (sample.dueAt > reloadedBy + 100ms) ++after[sample.backend];
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(240), samples.size());
        // Priority over a, b: all a. Latency over c, b: never a, mostly b.
        CPPUNIT_ASSERT(before.size() == 1 && before.count("a") == 1);
        CPPUNIT_ASSERT_EQUAL(0, after["a"]);
        const int total = after["b"] + after["c"];
        CPPUNIT_ASSERT_MESSAGE("b " + std::to_string(after["b"]) + ", c " + std::to_string(after["c"]),
                               total > 50 && after["b"] * 10 >= total * 7);
        CPPUNIT_ASSERT(gateway.output().find("reloaded: configuration generation 2") != std::string::npos);
    }

    // Forty reloads 50 ms apart while requests (each logging its access
    // line) keep coming: every request answered, the gateway alive at the
    // last generation. (Swapping the log channel under loggers crashed.)
    void reloadAfterReloadUnderLoadFailsNothing() {
        OneBackendGateway setup;
        auto& gateway = setup.gateway;
        SteadyLoad load(chatLoad(gateway.port(), 4, 200, 3s, "churn"));
        load.start();
        for (int i = 0; i < 40; ++i) {
            gateway.reload();
            std::this_thread::sleep_for(50ms);
        }
        for (const auto& sample : load.wait())
            CPPUNIT_ASSERT_EQUAL_MESSAGE(sample.requestId + "\n" + gateway.output(), 200, sample.status);
        // Signals that arrive while a reload runs are merged, so not every one is a generation.
        CPPUNIT_ASSERT(eventually([&] { return generationOf(gateway.port()) > 10; }));
    }

    void aFileThatDoesNotValidateChangesNothing() {
        OneBackendGateway setup;
        auto& gateway = setup.gateway;
        const auto good = baseConfig() + "backends = gpu\n" + backendConfig("gpu", setup.backend.url());
        const std::vector<std::pair<std::string, std::string>> bad = {
            {good + "pipeline.router = no-such-strategy\n", "pipeline.router"},
            {good + "backends.gpu.url = ${env.SLUICE_TEST_UNSET_VARIABLE}\n", "SLUICE_TEST_UNSET_VARIABLE"},
            {good + "limits.max_body_bytes = lots\n", "limits.max_body_bytes"},
        };
        int refusals = 0;
        for (const auto& [text, named] : bad) {
            gateway.rewriteConfig(text);
            gateway.reload();
            ++refusals;
            // One line that says why, naming the key.
            CPPUNIT_ASSERT_MESSAGE(gateway.output(), eventually([&] {
                                       const auto out = gateway.output();
                                       std::size_t count = 0;
                                       for (auto at = out.find("reload refused"); at != std::string::npos;
                                            at = out.find("reload refused", at + 1))
                                           ++count;
                                       return count == static_cast<std::size_t>(refusals);
                                   }));
            const auto out = gateway.output();
            const auto line = out.substr(out.rfind("reload refused"));
            CPPUNIT_ASSERT_MESSAGE(line, line.substr(0, line.find('\n')).find(named) != std::string::npos);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), generationOf(gateway.port()));
            CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false)).status);
        }
        const auto metrics = httpGet(gateway.port(), "/metrics").body;
        CPPUNIT_ASSERT_MESSAGE(metrics, metrics.find("sluice_config_reloads_total{result=\"refused\"} 3") != std::string::npos);
        CPPUNIT_ASSERT(metrics.find("sluice_config_generation 1") != std::string::npos);
        // And a good file after the bad ones applies.
        gateway.rewriteConfig(good);
        gateway.reload();
        CPPUNIT_ASSERT(waitForGeneration(gateway.port(), 2));
    }

    void aReloadLoadsANewlyNamedPluginAndLosesNoRecord() {
        ScratchDir scratch("sluice-reload-it");
        std::unique_ptr<TestGateway> started;
        try {
            loadsANewlyNamedPlugin(scratch, started);
        } catch (const std::exception& e) {
            CPPUNIT_FAIL(std::string(e.what()) + "\n" + (started ? started->output() : std::string()));
        }
    }

    void loadsANewlyNamedPlugin(ScratchDir& scratch, std::unique_ptr<TestGateway>& started) {
        FakeBackend backend("ollama", "gpu-box");
        const auto dir = scratch.path.string();
        const auto plain = baseConfig() + "backends = gpu\n" + backendConfig("gpu", backend.url()) +
                           "plugins.load = allow-all, router, discovery\n";
        const auto audited = baseConfig() + "backends = gpu\n" + backendConfig("gpu", backend.url()) +
                             countingSinkConfig(scratch.path) + "audit.flush_ms = 50\n";
        started = std::make_unique<TestGateway>(plain);
        auto& gateway = *started;
        HttpClient client(gateway.port());
        // The chats' ids the sink wrote, sorted (the /v1/health checks are audited too).
        auto chatIds = [&] {
            std::vector<std::string> ids;
            for (auto& id : linesOf(scratch.path / "ids"))
                if (id.rfind("second-", 0) == 0 || id.rfind("third-", 0) == 0 || id == "unaudited") ids.push_back(id);
            std::sort(ids.begin(), ids.end());
            return ids;
        };
        CPPUNIT_ASSERT_EQUAL(200, client.post("/api/chat", ollamaChat("llama3.2", false), {{"X-Request-ID", "unaudited"}}).status);

        gateway.rewriteConfig(audited);
        gateway.reload();
        CPPUNIT_ASSERT_MESSAGE(gateway.output(), waitForGeneration(gateway.port(), 2));
        std::vector<std::string> sent;
        auto send = [&](const std::string& prefix, int count) {
            for (int i = 0; i < count; ++i) {
                const auto id = prefix + "-" + std::to_string(i);
                CPPUNIT_ASSERT_EQUAL(200, client.post("/api/chat", ollamaChat("llama3.2", i % 2 == 1), {{"X-Request-ID", id}}).status);
                sent.push_back(id);
            }
        };
        send("second", 10);
        CPPUNIT_ASSERT_MESSAGE(gateway.output(), eventually([&] { return chatIds().size() == 10; }));
        // The same sink again with a new configuration: the running writer
        // takes the new sink, nothing queued is left behind.
        gateway.rewriteConfig(audited + "audit.flush_ms = 60000\naudit.counting.records = " + dir + "/records.jsonl\n");
        gateway.reload();
        CPPUNIT_ASSERT(waitForGeneration(gateway.port(), 3));
        send("third", 10);
        // A stop writes everything still queued.
        gateway.process().terminate(SIGTERM);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(gateway.output(), 0, gateway.process().waitForExit(20s).value_or(-1));
        auto ids = chatIds();
        std::sort(sent.begin(), sent.end());
        CPPUNIT_ASSERT_EQUAL(sent.size(), ids.size());
        CPPUNIT_ASSERT(ids == sent);
        // Generation 3's sink (with a records file) wrote the third batch.
        std::size_t third = 0;
        for (const auto& line : linesOf(scratch.path / "records.jsonl"))
            third += nlohmann::json::parse(line)["request_id"].get<std::string>().rfind("third-", 0) == 0 ? 1 : 0;
        CPPUNIT_ASSERT_EQUAL(std::size_t(10), third);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReloadTest);

} // namespace sluice::test
