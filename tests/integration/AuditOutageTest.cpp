// The audit trail under steady load through the real sluiced while each
// sink's storage goes away and comes back: all three sinks at once
// (`pipeline.audit = postgresql, sqlite, jsonl`), PostgreSQL stopped for
// 20 s, the SQLite file write-locked by another connection for 8 s, the
// jsonl folder unwritable for 8 s, overlapping. Every request must be
// answered, and afterwards every sink must hold exactly the requests served:
// each id once, none missing, none twice.
//
// The latency of requests during the faults next to those before them is
// printed for the record (bench/audit measures it properly); it is not
// asserted, since timing on a shared machine is not a pass/fail property.

#include <filesystem>
#include <functional>
#include <iostream>
#include <map>

#include <cppunit/extensions/HelperMacros.h>

#include "AuditFaults.h"
#include "FakeBackend.h"
#include "Gateway.h"
#include "ScratchDir.h"
#include "HttpClient.h"
#include "PostgresServer.h"
#include "SteadyLoad.h"
#include "TestHelpers.h"
#include "sluice/store/Database.h"
#include "sluice/store/Migrations.h"

namespace sluice::test {

namespace {

using namespace std::chrono_literals;

// "" when `stored` holds each of `served` exactly once and nothing else, else what differs.
std::string differences(const std::vector<std::string>& served, const std::vector<std::string>& stored) {
    std::map<std::string, int> count;
    for (const auto& id : stored) ++count[id];
    std::size_t missing = 0, twice = 0;
    for (const auto& id : served) {
        auto it = count.find(id);
        if (it == count.end()) {
            ++missing;
            continue;
        }
        if (it->second > 1) ++twice;
        count.erase(it);
    }
    if (missing == 0 && twice == 0 && count.empty()) return {};
    return std::to_string(stored.size()) + " stored for " + std::to_string(served.size()) + " served: " +
           std::to_string(missing) + " missing, " + std::to_string(twice) + " more than once, " +
           std::to_string(count.size()) + " never served";
}

} // namespace

class AuditOutageTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuditOutageTest);
    CPPUNIT_TEST(everySinkHoldsEveryRequestThroughItsOutage);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _scratchDir = std::make_unique<ScratchDir>("sluice-audit-outage");
        std::filesystem::create_directories(_scratchDir->path / "jsonl");
    }
    void tearDown() override { _scratchDir.reset(); }

    void everySinkHoldsEveryRequestThroughItsOutage() {
        PostgresServer postgres;
        {
            store::Database db(store::StoreUrl::parse(postgres.url()), 1);
            store::migrate(db);
        }
        FakeBackend backend("ollama", "gpu-box");
        const auto dir = _scratchDir->path.string();
        const auto sqliteFile = _scratchDir->path / "audit.db";
        const auto jsonlFile = _scratchDir->path / "jsonl" / "audit.jsonl";
        TestGateway gateway(baseConfig() + "backends = gpu\n" + backendConfig("gpu", backend.url()) +
                            "plugins.load = allow-all, router, discovery, audit\n"
                            "pipeline.audit = postgresql, sqlite, jsonl\n"
                            "audit.postgresql.url = " + postgres.url() + "\n"
                            "audit.sqlite.url = sqlite:" + sqliteFile.string() + "\n"
                            "audit.jsonl.path = " + jsonlFile.string() + "\n"
                            // Rotated several times over the run, none dropped.
                            "audit.jsonl.max_bytes = 262144\n"
                            "audit.jsonl.keep = 100\n"
                            "audit.spill_dir = " + dir + "/spill\n"
                            // A small memory bound, so each outage spills and replays.
                            "audit.queue_size = 200\n"
                            "audit.batch_size = 100\n"
                            "audit.flush_ms = 100\n"
                            "audit.retry_ms = 50\n"
                            "audit.retry_max_ms = 1000\n");

        SteadyLoad load(chatLoad(gateway.port(), 4, 100, 30s, "outage"));
        PostgresOutage postgresDown(postgres);
        SqliteWriteLock sqliteLocked(sqliteFile);
        UnwritableFolder jsonlGone(_scratchDir->path / "jsonl");
        // Overlapping: PostgreSQL 5–25 s, SQLite 7–15 s, jsonl 9–17 s.
        bool sqliteHeld = false;
        const std::vector<std::pair<std::chrono::seconds, std::function<void()>>> schedule = {
            {5s, [&] { postgresDown.begin(); }},
            {7s, [&] { sqliteLocked.begin(); sqliteHeld = sqliteLocked.holds(); }},
            {9s, [&] { jsonlGone.begin(); }},
            {15s, [&] { sqliteLocked.end(); }},  {17s, [&] { jsonlGone.end(); }},     {25s, [&] { postgresDown.end(); }}};
        load.start();
        for (const auto& [at, action] : schedule) {
            load.sleepUntil(at);
            action();
        }
        const auto samples = load.wait();

        std::vector<std::string> served;
        std::size_t failed = 0;
        for (const auto& sample : samples) {
            if (sample.status == 200) served.push_back(sample.requestId);
            else ++failed;
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(3000), samples.size());
        CPPUNIT_ASSERT_EQUAL_MESSAGE(gateway.output(), std::size_t(0), failed);

        std::string postgresDiff, sqliteDiff, jsonlDiff;
        const bool allStored = eventually(
            [&] {
                postgresDiff = differences(served, auditIdsInDatabase(postgres.url(), "outage-"));
                sqliteDiff = differences(served, auditIdsInDatabase("sqlite:" + sqliteFile.string(), "outage-"));
                jsonlDiff = differences(served, auditIdsInJsonl(jsonlFile));
                return postgresDiff.empty() && sqliteDiff.empty() && jsonlDiff.empty();
            },
            60s);
        CPPUNIT_ASSERT_MESSAGE("postgresql: " + postgresDiff + "\nsqlite: " + sqliteDiff + "\njsonl: " + jsonlDiff +
                                   "\n" + gateway.output(),
                               allStored);

        // The faults were real: PostgreSQL and jsonl writes failed; the SQLite
        // lock was checked to refuse another writer while it was held.
        const auto metrics = httpGet(gateway.port(), "/metrics").body;
        auto failures = [&](const std::string& sink) {
            const auto series = "sluice_audit_write_failures_total{sink=\"" + sink + "\"} ";
            const auto at = metrics.find(series);
            return at == std::string::npos ? 0ULL : std::stoull(metrics.substr(at + series.size()));
        };
        CPPUNIT_ASSERT_MESSAGE(metrics, failures("postgresql") > 0);
        CPPUNIT_ASSERT_MESSAGE(metrics, failures("jsonl") > 0);
        CPPUNIT_ASSERT(sqliteHeld);
        CPPUNIT_ASSERT(metrics.find(R"(sluice_audit_records_total{sink="postgresql",result="replayed"})") != std::string::npos);

        std::cout << "\naudit outage, 100 req/s: write failures postgresql " << failures("postgresql") << ", sqlite "
                  << failures("sqlite") << ", jsonl " << failures("jsonl") << "; before the faults " << describe(summarize(samples, 1s, 5s))
                  << "\n  during them " << describe(summarize(samples, 5s, 25s)) << "\n  after "
                  << describe(summarize(samples, 25s, 30s)) << std::endl;
    }

private:
    std::unique_ptr<ScratchDir> _scratchDir;
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuditOutageTest);

} // namespace sluice::test
