// AuditWriter: batches by size and by time, retries a failed batch without
// losing or reordering anything, spills past its memory bound while the sink
// fails and replays the spill file first once it works, flushes on stop (or
// spills, for the next writer to replay), and never makes enqueue() wait on
// the sink. The fake sink dedupes by request id, as real sinks must, and also
// counts raw deliveries. Waits are bounded polls; no test asserts a duration.
// Over 400 lines: every case drives the same writer and fake sink, kept
// together so the writer's contract reads in one place.
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "audit/AnswerCapture.h"
#include "audit/AuditWriter.h"
#include "audit/RecordBuilder.h"

namespace {

using namespace std::chrono_literals;
using sluice::kernel::AuditEntry;
using sluice::kernel::AuditWriter;
using sluice::kernel::AuditWriterSettings;

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return condition();
}

// Stores each request id once (idempotent, like a real sink), in arrival
// order; fails or blocks on demand.
class FakeSink final : public sluice::AuditSink {
public:
    sluice::SinkResult write(const std::vector<sluice::AuditRecord>& batch) override {
        std::unique_lock lock(_mutex);
        _blockedWrites += _blocked ? 1 : 0;
        _changed.wait(lock, [this] { return !_blocked; });
        if (_failing) {
            ++_failures;
            return {false, "the fake is down"};
        }
        _batchSizes.push_back(batch.size());
        for (const auto& record : batch) {
            ++_deliveries;
            if (_seen.insert(record.requestId).second) _stored.push_back(record);
        }
        return {};
    }
    void maintain(std::chrono::system_clock::time_point) override { ++_maintained; }

    void setFailing(bool failing) {
        std::lock_guard lock(_mutex);
        _failing = failing;
    }
    void setBlocked(bool blocked) {
        {
            std::lock_guard lock(_mutex);
            _blocked = blocked;
        }
        _changed.notify_all();
    }
    std::vector<std::string> ids() const {
        std::lock_guard lock(_mutex);
        std::vector<std::string> ids;
        for (const auto& record : _stored) ids.push_back(record.requestId);
        return ids;
    }
    std::vector<sluice::AuditRecord> stored() const {
        std::lock_guard lock(_mutex);
        return _stored;
    }
    std::size_t storedCount() const {
        std::lock_guard lock(_mutex);
        return _stored.size();
    }
    std::vector<std::size_t> batchSizes() const {
        std::lock_guard lock(_mutex);
        return _batchSizes;
    }
    int failures() const {
        std::lock_guard lock(_mutex);
        return _failures;
    }
    std::size_t deliveries() const {
        std::lock_guard lock(_mutex);
        return _deliveries;
    }
    int blockedWrites() const {
        std::lock_guard lock(_mutex);
        return _blockedWrites;
    }
    int maintained() const { return _maintained.load(); }

private:
    mutable std::mutex _mutex;
    std::condition_variable _changed;
    bool _failing = false;
    bool _blocked = false;
    int _failures = 0;
    int _blockedWrites = 0;
    std::size_t _deliveries = 0;
    std::set<std::string> _seen;
    std::vector<sluice::AuditRecord> _stored;
    std::vector<std::size_t> _batchSizes;
    std::atomic<int> _maintained{0};
};

AuditEntry entry(const std::string& id) {
    AuditEntry entry;
    entry.record.requestId = id;
    entry.record.route = "/api/chat";
    entry.record.status = 200;
    return entry;
}

std::vector<std::string> idRange(const std::string& prefix, int count) {
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) ids.push_back(prefix + std::to_string(i));
    return ids;
}

// The test's sink, lent to a writer that does not own it.
std::shared_ptr<sluice::AuditSink> borrow(sluice::AuditSink& sink) { return {std::shared_ptr<void>(), &sink}; }

class AuditWriterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuditWriterTest);
    CPPUNIT_TEST(fullBatchesGoOutBySize);
    CPPUNIT_TEST(aPartBatchGoesOutByTime);
    CPPUNIT_TEST(aReloadedSinkTakesWhatIsWaiting);
    CPPUNIT_TEST(writersStoppedTogetherFlushEverything);
    CPPUNIT_TEST(aFailedBatchIsRetriedWithoutLoss);
    CPPUNIT_TEST(pastTheBoundRecordsSpillAndReplayInOrder);
    CPPUNIT_TEST(stopFlushesWhatIsQueued);
    CPPUNIT_TEST(stopWhileTheSinkIsDeadSpillsForTheNextWriter);
    CPPUNIT_TEST(aRecordAfterStopIsSpilled);
    CPPUNIT_TEST(enqueueNeverWaitsOnABlockedSink);
    CPPUNIT_TEST(maintainRunsWhenIdle);
    CPPUNIT_TEST(answerTextFromWholeAnswersAndStreams);
    CPPUNIT_TEST(recordsComeFromTheContext);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        std::random_device random;
        _dir = std::filesystem::temp_directory_path() / ("sluice-audit-test-" + std::to_string(random()));
        std::filesystem::create_directories(_dir);
    }
    void tearDown() override {
        std::error_code ignored;
        std::filesystem::remove_all(_dir, ignored);
    }

    AuditWriterSettings settings() const {
        AuditWriterSettings settings;
        settings.batchSize = 10;
        settings.flushInterval = 3600s;  // tests about time set their own
        settings.retryBase = 5ms;
        settings.retryMax = 40ms;
        settings.queueSize = 1000;
        settings.spillDirectory = _dir;
        settings.shutdownFlush = 2s;
        return settings;
    }

    std::uint64_t counted(const char* result) {
        return _metrics.counter("sluice_audit_records_total", "", {{"sink", "fake"}, {"result", result}}).value();
    }

    void fullBatchesGoOutBySize() {
        FakeSink sink;
        AuditWriter writer("fake", borrow(sink), settings(), _metrics);
        writer.start();
        for (const auto& id : idRange("r", 30)) writer.enqueue(entry(id));
        CPPUNIT_ASSERT(eventually([&] { return sink.storedCount() == 30; }));
        CPPUNIT_ASSERT(sink.batchSizes() == std::vector<std::size_t>({10, 10, 10}));
        CPPUNIT_ASSERT(sink.ids() == idRange("r", 30));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(30), counted("written"));
    }

    // A reload that fixes a failing sink (a new URL, say): what waited for the
    // old one goes to the new one, in order, and the old one gets nothing more.
    void aReloadedSinkTakesWhatIsWaiting() {
        FakeSink broken;
        broken.setFailing(true);
        FakeSink fixed;
        auto config = settings();
        config.queueSize = 5;  // part of what waits is in the spill file, part in memory
        AuditWriter writer("fake", borrow(broken), config, _metrics);
        // All queued before the writer starts: its first failure then spills
        // all 25. Queued while it ran, a tail of fewer than queueSize could
        // stay in memory, below a batch, until the flush interval (an hour
        // here) — the race that made this test fail now and then.
        for (const auto& id : idRange("w", 25)) writer.enqueue(entry(id));
        writer.start();
        CPPUNIT_ASSERT(eventually([&] { return counted("spilled") == 25 && broken.failures() > 0; }));
        writer.useSink(borrow(fixed));
        CPPUNIT_ASSERT(eventually([&] { return fixed.storedCount() == 25; }));
        CPPUNIT_ASSERT(fixed.ids() == idRange("w", 25));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), broken.storedCount());
    }

    // Shutdown starts every writer's flush, then waits for each: all is
    // written, and a writer whose thread ended before the wait is joined.
    void writersStoppedTogetherFlushEverything() {
        FakeSink first, second;
        auto config = settings();
        config.batchSize = 500;  // nothing goes out before the stop
        AuditWriter one("fake", borrow(first), config, _metrics);
        AuditWriter two("other", borrow(second), config, _metrics);
        one.start();
        two.start();
        for (const auto& id : idRange("s", 7)) {
            one.enqueue(entry(id));
            two.enqueue(entry(id));
        }
        one.beginStop();
        two.beginStop();
        CPPUNIT_ASSERT(eventually([&] { return first.storedCount() == 7 && second.storedCount() == 7; }));
        std::this_thread::sleep_for(50ms);  // their threads have ended by now
        one.stop();
        two.stop();
        CPPUNIT_ASSERT(first.ids() == idRange("s", 7));
        CPPUNIT_ASSERT(second.ids() == idRange("s", 7));
    }

    void aPartBatchGoesOutByTime() {
        FakeSink sink;
        auto config = settings();
        config.batchSize = 500;
        config.flushInterval = 20ms;
        AuditWriter writer("fake", borrow(sink), config, _metrics);
        writer.start();
        for (const auto& id : idRange("t", 3)) writer.enqueue(entry(id));
        CPPUNIT_ASSERT(eventually([&] { return sink.storedCount() == 3; }));
        CPPUNIT_ASSERT(sink.ids() == idRange("t", 3));
    }

    void aFailedBatchIsRetriedWithoutLoss() {
        FakeSink sink;
        sink.setFailing(true);
        AuditWriter writer("fake", borrow(sink), settings(), _metrics);
        writer.start();
        for (const auto& id : idRange("f", 25)) writer.enqueue(entry(id));
        CPPUNIT_ASSERT(eventually([&] { return sink.failures() >= 4; }));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), sink.storedCount());
        sink.setFailing(false);
        // The part batch left after two full ones waits for its timer, which
        // this test never reaches: stop() flushes it.
        CPPUNIT_ASSERT(eventually([&] { return sink.storedCount() >= 20; }));
        writer.stop();
        CPPUNIT_ASSERT(sink.ids() == idRange("f", 25));
        CPPUNIT_ASSERT(_metrics.counter("sluice_audit_write_failures_total", "", {{"sink", "fake"}}).value() >= 4);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), counted("spilled"));
    }

    void pastTheBoundRecordsSpillAndReplayInOrder() {
        FakeSink sink;
        sink.setFailing(true);
        auto config = settings();
        config.queueSize = 20;
        config.batchSize = 7;
        AuditWriter writer("fake", borrow(sink), config, _metrics);
        writer.start();
        const auto ids = idRange("s", 200);
        for (int i = 0; i < 150; ++i) writer.enqueue(entry(ids[i]));
        auto& queued = _metrics.gauge("sluice_audit_queue", "", {{"sink", "fake"}});
        // Memory comes back under its bound: the rest is on disk.
        CPPUNIT_ASSERT(eventually([&] { return counted("spilled") >= 130 && queued.value() <= 20; }));
        CPPUNIT_ASSERT(std::filesystem::exists(writer.spillPath()));
        for (int i = 150; i < 200; ++i) writer.enqueue(entry(ids[i]));
        CPPUNIT_ASSERT(eventually([&] { return counted("spilled") >= 180; }));

        sink.setFailing(false);
        CPPUNIT_ASSERT(eventually([&] { return sink.storedCount() >= 194; }));  // a last part batch waits for stop
        writer.stop();
        // Every id exactly once and in the order it was enqueued; a batch may
        // have been delivered twice (retried), never skipped.
        CPPUNIT_ASSERT(sink.ids() == ids);
        CPPUNIT_ASSERT(sink.deliveries() >= ids.size());
        CPPUNIT_ASSERT(!std::filesystem::exists(writer.spillPath()));
        CPPUNIT_ASSERT(counted("replayed") >= counted("spilled"));
        CPPUNIT_ASSERT_EQUAL(std::int64_t(0), queued.value());
    }

    void stopFlushesWhatIsQueued() {
        FakeSink sink;
        AuditWriter writer("fake", borrow(sink), settings(), _metrics);
        writer.start();
        for (const auto& id : idRange("q", 7)) writer.enqueue(entry(id));
        writer.stop();
        CPPUNIT_ASSERT(sink.ids() == idRange("q", 7));
        CPPUNIT_ASSERT(!std::filesystem::exists(writer.spillPath()));
    }

    void stopWhileTheSinkIsDeadSpillsForTheNextWriter() {
        auto config = settings();
        config.shutdownFlush = 50ms;
        const auto ids = idRange("d", 33);
        {
            FakeSink dead;
            dead.setFailing(true);
            AuditWriter writer("fake", borrow(dead), config, _metrics);
            writer.start();
            for (const auto& id : ids) writer.enqueue(entry(id));
            writer.stop();
            CPPUNIT_ASSERT_EQUAL(std::size_t(0), dead.storedCount());
            CPPUNIT_ASSERT(std::filesystem::exists(writer.spillPath()));
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(33), counted("spilled"));
        }
        FakeSink alive;
        AuditWriter next("fake", borrow(alive), config, _metrics);
        next.enqueue(entry("after-restart"));
        next.start();
        next.stop();
        auto expected = ids;
        expected.push_back("after-restart");  // the spill file first, then the new run's records
        CPPUNIT_ASSERT(alive.ids() == expected);
        CPPUNIT_ASSERT(!std::filesystem::exists(next.spillPath()));
    }

    void aRecordAfterStopIsSpilled() {
        FakeSink sink;
        {
            AuditWriter writer("fake", borrow(sink), settings(), _metrics);
            writer.start();
            writer.stop();
            writer.enqueue(entry("straggler"));
            CPPUNIT_ASSERT(std::filesystem::exists(writer.spillPath()));
        }
        AuditWriter next("fake", borrow(sink), settings(), _metrics);
        next.start();
        next.stop();
        CPPUNIT_ASSERT(sink.ids() == std::vector<std::string>{"straggler"});
    }

    void enqueueNeverWaitsOnABlockedSink() {
        FakeSink sink;
        sink.setBlocked(true);
        auto config = settings();
        config.queueSize = 100000;
        AuditWriter writer("fake", borrow(sink), config, _metrics);
        writer.start();
        writer.enqueue(entry("first"));
        for (int i = 1; i < 10; ++i) writer.enqueue(entry("first-" + std::to_string(i)));
        CPPUNIT_ASSERT(eventually([&] { return sink.blockedWrites() == 1; }));  // the writer is stuck in the sink
        constexpr int kThreads = 8;
        constexpr int kEach = 2000;
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&writer, t] {
                for (int i = 0; i < kEach; ++i) writer.enqueue(entry(std::to_string(t) + ":" + std::to_string(i)));
            });
        for (auto& thread : threads) thread.join();  // returns while the sink is still blocked
        CPPUNIT_ASSERT_EQUAL(1, sink.blockedWrites());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), sink.storedCount());

        sink.setBlocked(false);
        writer.stop();
        const auto stored = sink.ids();
        CPPUNIT_ASSERT_EQUAL(std::size_t(10 + kThreads * kEach), stored.size());
        // Each thread's records keep their order.
        std::vector<int> next(kThreads, 0);
        for (std::size_t i = 10; i < stored.size(); ++i) {
            const auto colon = stored[i].find(':');
            const int thread = std::stoi(stored[i].substr(0, colon));
            CPPUNIT_ASSERT_EQUAL(next[thread]++, std::stoi(stored[i].substr(colon + 1)));
        }
    }

    void maintainRunsWhenIdle() {
        FakeSink sink;
        auto config = settings();
        config.maintainInterval = 10ms;
        AuditWriter writer("fake", borrow(sink), config, _metrics);
        writer.start();
        CPPUNIT_ASSERT(eventually([&] { return sink.maintained() >= 2; }));
    }

    void answerTextFromWholeAnswersAndStreams() {
        using sluice::kernel::answerText;
        CPPUNIT_ASSERT_EQUAL(std::string("Blue."), answerText(R"({"message":{"role":"assistant","content":"Blue."},"done":true})"));
        CPPUNIT_ASSERT_EQUAL(std::string("Blue."), answerText(R"({"response":"Blue.","done":true})"));
        CPPUNIT_ASSERT_EQUAL(std::string("Blue."),
                             answerText(R"({"choices":[{"index":0,"message":{"role":"assistant","content":"Blue."}}]})"));
        CPPUNIT_ASSERT_EQUAL(std::string("Blue."),
                             answerText("{\"message\":{\"content\":\"Bl\"}}\n{\"message\":{\"content\":\"ue.\"}}\n{\"done\":true}\n"));
        CPPUNIT_ASSERT_EQUAL(std::string("Blue."), answerText("data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
                                                              "data: {\"choices\":[{\"delta\":{\"content\":\"Bl\"}}]}\n\n"
                                                              ": keep-alive\n\n"
                                                              "data: {\"choices\":[{\"delta\":{\"content\":\"ue.\"}}]}\n\n"
                                                              "data: [DONE]\n\n"));
        // The agents' APIs, whole and streamed (their named events' data lines).
        CPPUNIT_ASSERT_EQUAL(std::string("Blue."),
                             answerText(R"({"type":"message","content":[{"type":"thinking","thinking":"hm"},{"type":"text","text":"Blue."}]})"));
        CPPUNIT_ASSERT_EQUAL(std::string("Blue."),
                             answerText(R"({"object":"response","output":[{"type":"reasoning"},{"type":"message","content":[{"type":"output_text","text":"Blue."}]}]})"));
        CPPUNIT_ASSERT_EQUAL(std::string("Blue."),
                             answerText("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"content\":[]}}\n\n"
                                        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"Bl\"}}\n\n"
                                        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n"
                                        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"ue.\"}}\n\n"));
        CPPUNIT_ASSERT_EQUAL(std::string("Blue."),
                             answerText("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Bl\"}\n\n"
                                        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"ue.\"}\n\n"
                                        "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"Blue.\"}]}]}}\n\n"));
        // The capture limit cut the last frame: what was whole still counts.
        CPPUNIT_ASSERT_EQUAL(std::string("Bl"), answerText("{\"response\":\"Bl\"}\n{\"respo"));

        sluice::kernel::AnswerCapture capture;
        capture.limit = 5;
        capture.append("abc");
        capture.append("defg");
        CPPUNIT_ASSERT_EQUAL(std::string("abcde"), capture.bytes);
        std::string text = "a\xC3\xA9";  // "aé": 3 bytes
        sluice::kernel::cutUtf8(text, 2);
        CPPUNIT_ASSERT_EQUAL(std::string("a"), text);
    }

    void recordsComeFromTheContext() {
        sluice::RequestContext ctx;
        ctx.requestId = "rid";
        ctx.route.name = "/api/chat";
        ctx.clientAddress = "192.0.2.7";
        ctx.model = "fast";
        ctx.body = {{"model", "fast"}, {"messages", {{{"role", "user"}, {"content", "why"}}}}};
        ctx.plan.alias = "fast";
        ctx.servedBackend = "gpu";
        ctx.servedModel = "llama3.2";
        ctx.status = 200;
        ctx.usage.promptTokens = 3;
        ctx.usage.completionTokens = 4;
        ctx.startedAt = std::chrono::steady_clock::now() - 50ms;
        ctx.firstByteAt = ctx.startedAt + 5ms;
        sluice::Principal principal;
        principal.tenant = "acme";
        principal.keyId = "key-1";
        ctx.principal = principal;

        auto plain = sluice::kernel::buildAuditEntry(ctx, 1000).record;
        CPPUNIT_ASSERT_EQUAL(std::string("acme"), plain.tenant);
        CPPUNIT_ASSERT_EQUAL(std::string("key-1"), plain.keyId);
        CPPUNIT_ASSERT_EQUAL(std::string("/api/chat"), plain.route);
        CPPUNIT_ASSERT_EQUAL(std::string("fast"), plain.alias);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(4), plain.tokensOut);
        CPPUNIT_ASSERT(plain.timeToFirstByteMs >= 5 && plain.latencyMs >= plain.timeToFirstByteMs);
        CPPUNIT_ASSERT(!plain.promptLogged && plain.prompt.empty());

        ctx.principal->logPrompts = true;
        auto logged = sluice::kernel::buildAuditEntry(ctx, 1000, R"({"message":{"content":"because"}})");
        CPPUNIT_ASSERT(logged.record.promptLogged);
        CPPUNIT_ASSERT_EQUAL(std::string(R"([{"content":"why","role":"user"}])"), logged.record.prompt);
        // The writer thread turns the captured bytes into the answer's text.
        FakeSink sink;
        AuditWriter writer("fake", borrow(sink), settings(), _metrics);
        writer.start();
        writer.enqueue(std::move(logged));
        writer.stop();
        CPPUNIT_ASSERT_EQUAL(std::string("because"), sink.stored().at(0).answer);
    }

private:
    std::filesystem::path _dir;
    sluice::MetricsRegistry _metrics;
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuditWriterTest);

} // namespace
