// SpillFile: lines in the audit trail's one vocabulary (sluice/AuditJson.h).
// A spill file left by the sluiced before ABI 4.0, in its own field names, is
// replayed to the sink whole after an upgrade; a torn last line is skipped.

#include <cppunit/extensions/HelperMacros.h>

#include <fstream>
#include <mutex>
#include <thread>

#include "ScratchDir.h"
#include "audit/AuditWriter.h"
#include "audit/SpillFile.h"
#include "sluice/AuditJson.h"

namespace {

using namespace std::chrono_literals;

class CollectingSink final : public sluice::AuditSink {
public:
    sluice::SinkResult write(const std::vector<sluice::AuditRecord>& batch) override {
        std::lock_guard lock(_mutex);
        _records.insert(_records.end(), batch.begin(), batch.end());
        return {};
    }
    std::vector<sluice::AuditRecord> records() const {
        std::lock_guard lock(_mutex);
        return _records;
    }

private:
    mutable std::mutex _mutex;
    std::vector<sluice::AuditRecord> _records;
};

class SpillFileTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SpillFileTest);
    CPPUNIT_TEST(aSpillFileOfThePreviousVersionIsReplayedWhole);
    CPPUNIT_TEST(aTornLastLineIsSkipped);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { _dir = std::make_unique<sluice::test::ScratchDir>("sluice-spill-test"); }
    void tearDown() override { _dir.reset(); }

    void aSpillFileOfThePreviousVersionIsReplayedWhole() {
        // Three lines exactly as the previous sluiced spilled them (client, model,
        // backend, tokens_in, tokens_out, ttfb_ms, time_ms), prompt text in one.
        std::ofstream(_dir->path / "jsonl.jsonl")
            << R"({"alias":"","backend":"gpu","bytes_in":112,"bytes_out":2048,"client":"203.0.113.7","failovers":0,)"
               R"("key_id":"k1","latency_ms":840.213,"model":"llama3.2","outcome":"ok","request_id":"old-1",)"
               R"("route":"/api/chat","served_model":"llama3.2:latest","status":200,"tenant":"research",)"
               R"("time_ms":1764619752301,"tokens_in":31,"tokens_out":112,"ttfb_ms":120.5})"
               "\n"
               R"({"alias":"fast","answer":"Blue.","backend":"cpu","bytes_in":90,"bytes_out":300,"client":"198.51.100.2",)"
               R"("failovers":1,"key_id":"k2","latency_ms":77.0,"model":"fast","outcome":"ok","prompt":"why",)"
               R"("prompt_logged":true,"request_id":"old-2","route":"/v1/chat/completions","served_model":"qwen2.5",)"
               R"("status":200,"tenant":"web","time_ms":1764619753000,"tokens_in":5,"tokens_out":9,"ttfb_ms":20.0})"
               "\n"
               R"({"alias":"","backend":"","bytes_in":10,"bytes_out":0,"client":"192.0.2.1","failovers":0,"key_id":"",)"
               R"("latency_ms":1.0,"model":"x","outcome":"refused-auth","request_id":"old-3","route":"/api/chat",)"
               R"("served_model":"","status":401,"tenant":"","time_ms":1764619754000,"tokens_in":0,"tokens_out":0,"ttfb_ms":0.0})"
               "\n";
        sluice::MetricsRegistry metrics;
        CollectingSink sink;
        sluice::kernel::AuditWriterSettings settings;
        settings.spillDirectory = _dir->path;
        settings.flushInterval = 10ms;
        sluice::kernel::AuditWriter writer("jsonl", {std::shared_ptr<void>(), &sink}, settings, metrics);
        writer.start();
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (sink.records().size() < 3 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
        writer.stop();

        const auto records = sink.records();
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), records.size());
        const auto& first = records[0];
        CPPUNIT_ASSERT_EQUAL(std::string("old-1"), first.requestId);
        CPPUNIT_ASSERT(first.time == std::chrono::system_clock::time_point(std::chrono::milliseconds(1764619752301)));
        CPPUNIT_ASSERT_EQUAL(std::string("203.0.113.7"), first.clientAddress);
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2"), first.requestedModel);
        CPPUNIT_ASSERT_EQUAL(std::string("gpu"), first.servedBackend);
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), first.servedModel);
        CPPUNIT_ASSERT_EQUAL(std::string("research"), first.tenant);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(31), first.tokensIn);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(112), first.tokensOut);
        CPPUNIT_ASSERT_EQUAL(120.5, first.timeToFirstByteMs);
        CPPUNIT_ASSERT_EQUAL(840.213, first.latencyMs);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2048), first.bytesOut);
        CPPUNIT_ASSERT(!first.promptLogged);
        const auto& second = records[1];
        CPPUNIT_ASSERT_EQUAL(std::string("fast"), second.alias);
        CPPUNIT_ASSERT_EQUAL(1, second.failovers);
        CPPUNIT_ASSERT(second.promptLogged);
        CPPUNIT_ASSERT_EQUAL(std::string("why"), second.prompt);
        CPPUNIT_ASSERT_EQUAL(std::string("Blue."), second.answer);
        CPPUNIT_ASSERT(records[2].outcome == sluice::Outcome::RefusedAuth);
        CPPUNIT_ASSERT_EQUAL(401, records[2].status);
        // Replayed whole, so removed.
        CPPUNIT_ASSERT(!std::filesystem::exists(_dir->path / "jsonl.jsonl"));
    }

    // A torn last line (a crash while appending) is skipped, and a later append still reads.
    void aTornLastLineIsSkipped() {
        sluice::AuditRecord record;
        record.requestId = "id-1";
        record.route = "/api/chat";
        const auto path = _dir->path / "torn.jsonl";
        sluice::kernel::SpillFile spill(path);
        spill.append({record});
        { std::ofstream(path, std::ios::app) << R"({"request_id":"to)"; }
        sluice::kernel::SpillFile reopened(path);
        record.requestId = "id-2";
        reopened.append({record});
        std::uint64_t next = 0;
        const auto records = reopened.read(10, next);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), records.size());
        CPPUNIT_ASSERT_EQUAL(std::string("id-1"), records[0].requestId);
        CPPUNIT_ASSERT_EQUAL(std::string("id-2"), records[1].requestId);
        reopened.commit(next);
        CPPUNIT_ASSERT(!reopened.pending());
        CPPUNIT_ASSERT(!std::filesystem::exists(path));
    }

private:
    std::unique_ptr<sluice::test::ScratchDir> _dir;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SpillFileTest);

} // namespace
