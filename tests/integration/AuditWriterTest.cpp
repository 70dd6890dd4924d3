// The audit writer in the real sluiced, feeding the `counting` test sink
// (tests/plugins/CountingSinkPlugin.cpp), which appends request ids to a file
// and fails while a flag file exists: every request gives one record; a sink
// that fails during traffic loses nothing (spilled past a small memory bound,
// replayed after); SIGTERM right after a burst leaves every id written, or
// spilled and replayed by the next start. Prompts only for opted-in callers.

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <cppunit/extensions/HelperMacros.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "ScratchDir.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {

std::vector<std::string> sorted(std::vector<std::string> items) {
    std::sort(items.begin(), items.end());
    return items;
}

std::uint64_t metricValue(const std::string& metrics, const std::string& series) {
    const auto at = metrics.find(series + " ");
    if (at == std::string::npos) return 0;
    return std::stoull(metrics.substr(at + series.size() + 1));
}

} // namespace

class AuditWriterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuditWriterTest);
    CPPUNIT_TEST(everyRequestGivesOneRecord);
    CPPUNIT_TEST(aFailingSinkLosesNothing);
    CPPUNIT_TEST(sigtermFlushesEveryRecord);
    CPPUNIT_TEST(sigtermWhileTheSinkFailsSpillsForTheNextStart);
    CPPUNIT_TEST(promptsOnlyForOptedInCallers);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _scratchDir = std::make_unique<ScratchDir>("sluice-audit-it");
        _backend = std::make_unique<FakeBackend>("ollama", "gpu-box");
    }
    void tearDown() override {
        _backend.reset();
        _scratchDir.reset();
    }

    std::string config(const std::string& extra = {}) const {
        const auto dir = _scratchDir->path.string();
        return baseConfig() + "backends = gpu\n" + backendConfig("gpu", _backend->url()) + countingSinkConfig(dir) +
               "audit.counting.fail_flag = " + dir + "/fail\n"
               "audit.counting.records = " + dir + "/records.jsonl\n"
               "audit.flush_ms = 50\n"
               "audit.retry_ms = 20\n"
               "audit.retry_max_ms = 200\n" + extra;
    }

    std::filesystem::path ids() const { return _scratchDir->path / "ids"; }
    std::filesystem::path failFlag() const { return _scratchDir->path / "fail"; }
    std::filesystem::path spillFile() const { return _scratchDir->path / "spill" / "counting.jsonl"; }

    // `count` chats with ids PREFIX-0…, alternating whole and streamed answers.
    std::vector<std::string> sendChats(TestGateway& gateway, const std::string& prefix, int count) {
        HttpClient client(gateway.port());
        std::vector<std::string> sent;
        for (int i = 0; i < count; ++i) {
            const auto id = prefix + "-" + std::to_string(i);
            const auto result = client.post("/api/chat", ollamaChat("llama3.2", i % 2 == 1), {{"X-Request-ID", id}});
            CPPUNIT_ASSERT_EQUAL_MESSAGE(result.body, 200, result.status);
            sent.push_back(id);
        }
        return sent;
    }

    bool idsAre(const std::vector<std::string>& expected) {
        return eventually([&] { return sorted(linesOf(ids())) == sorted(expected); });
    }

    void everyRequestGivesOneRecord() {
        TestGateway gateway(config());
        auto expected = sendChats(gateway, "ok", 20);
        const int port = gateway.port();
        // Refusals are audited too; the probes and the metrics scrape are not.
        CPPUNIT_ASSERT_EQUAL(400, httpPost(port, "/api/chat", "not json", {{"X-Request-ID", "bad-body"}}).status);
        CPPUNIT_ASSERT_EQUAL(403, httpPost(port, "/api/pull", "{}", {{"X-Request-ID", "pull"}}).status);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(port, "/api/tags", {{"X-Request-ID", "tags"}}).status);
        httpGet(port, "/healthz", {{"X-Request-ID", "healthz"}});
        httpGet(port, "/readyz", {{"X-Request-ID", "readyz"}});
        httpGet(port, "/metrics", {{"X-Request-ID", "metrics"}});
        expected.insert(expected.end(), {"bad-body", "pull", "tags"});
        CPPUNIT_ASSERT_MESSAGE(gateway.output(), idsAre(expected));

        std::map<std::string, nlohmann::json> records;
        for (const auto& line : linesOf(_scratchDir->path / "records.jsonl")) {
            auto json = nlohmann::json::parse(line);
            records[json["request_id"]] = json;
        }
        const auto& served = records.at("ok-1");  // a streamed one
        CPPUNIT_ASSERT_EQUAL(std::string("anonymous"), served["tenant"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("/api/chat"), served["route"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2"), served["requested_model"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("gpu"), served["served_backend"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(200, served["status"].get<int>());
        CPPUNIT_ASSERT_EQUAL(std::string("ok"), served["outcome"].get<std::string>());
        CPPUNIT_ASSERT(served["completion_tokens"].get<int>() > 0 && served["bytes_out"].get<int>() > 0);
        CPPUNIT_ASSERT(!served.contains("prompt_logged") && !served.contains("prompt"));
        CPPUNIT_ASSERT_EQUAL(std::string("bad-request"), records.at("bad-body")["outcome"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("refused-policy"), records.at("pull")["outcome"].get<std::string>());

        const auto metrics = httpGet(port, "/metrics").body;
        CPPUNIT_ASSERT(metricValue(metrics, R"(sluice_audit_records_total{sink="counting",result="written"})") >= 23);
    }

    void aFailingSinkLosesNothing() {
        TestGateway gateway(config("audit.queue_size = 5\naudit.batch_size = 4\n"));
        std::ofstream(failFlag()) << "down\n";
        const auto sent = sendChats(gateway, "outage", 40);
        HttpClient client(gateway.port());
        // Past 5 records in memory the writer moved them to its spill file.
        CPPUNIT_ASSERT(eventually([&] {
            return metricValue(client.get("/metrics").body, R"(sluice_audit_records_total{sink="counting",result="spilled"})") >= 30;
        }));
        CPPUNIT_ASSERT(linesOf(ids()).empty());
        std::filesystem::remove(failFlag());
        CPPUNIT_ASSERT_MESSAGE(gateway.output(), idsAre(sent));
        CPPUNIT_ASSERT(eventually([&] { return !std::filesystem::exists(spillFile()); }));
        const auto metrics = client.get("/metrics").body;
        CPPUNIT_ASSERT(metricValue(metrics, R"(sluice_audit_write_failures_total{sink="counting"})") >= 1);
        CPPUNIT_ASSERT(metricValue(metrics, R"(sluice_audit_records_total{sink="counting",result="replayed"})") >= 30);
    }

    void sigtermFlushesEveryRecord() {
        // Nothing would go out on its own for a minute: only the stop writes them.
        TestGateway gateway(config("audit.flush_ms = 60000\n"));
        const auto sent = sendChats(gateway, "burst", 30);
        gateway.process().terminate(SIGTERM);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(gateway.output(), 0, gateway.process().waitForExit(std::chrono::seconds(20)).value_or(-1));
        CPPUNIT_ASSERT(sorted(linesOf(ids())) == sorted(sent));
        CPPUNIT_ASSERT(!std::filesystem::exists(spillFile()));
    }

    void sigtermWhileTheSinkFailsSpillsForTheNextStart() {
        const auto settings = config("audit.shutdown_flush_ms = 200\n");
        std::vector<std::string> sent;
        {
            TestGateway gateway(settings);
            std::ofstream(failFlag()) << "down\n";
            sent = sendChats(gateway, "dying", 25);
            gateway.process().terminate(SIGTERM);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(gateway.output(), 0, gateway.process().waitForExit(std::chrono::seconds(20)).value_or(-1));
        }
        CPPUNIT_ASSERT(linesOf(ids()).empty());
        CPPUNIT_ASSERT(std::filesystem::exists(spillFile()));

        std::filesystem::remove(failFlag());
        TestGateway next(settings);
        CPPUNIT_ASSERT_MESSAGE(next.output(), idsAre(sent));
        CPPUNIT_ASSERT(eventually([&] { return !std::filesystem::exists(spillFile()); }));
    }

    void promptsOnlyForOptedInCallers() {
        TestGateway gateway(config("auth.allow_all.log_prompts = true\n"));
        const auto sent = sendChats(gateway, "logged", 2);  // one whole answer, one stream
        CPPUNIT_ASSERT(idsAre(sent));
        for (const auto& line : linesOf(_scratchDir->path / "records.jsonl")) {
            const auto record = nlohmann::json::parse(line);
            CPPUNIT_ASSERT(record["prompt_logged"].get<bool>());
            CPPUNIT_ASSERT_EQUAL(std::string(R"([{"content":"why is the sky blue","role":"user"}])"),
                                 record["prompt"].get<std::string>());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(line, std::string("Hello from gpu-box. This is a streamed answer."),
                                         record["answer"].get<std::string>());
        }
    }

private:
    std::unique_ptr<ScratchDir> _scratchDir;
    std::unique_ptr<FakeBackend> _backend;
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuditWriterTest);

} // namespace sluice::test
