#pragma once
// Feeds one audit sink off the request path. Request threads only enqueue (a
// short lock and a push, never a wait on the sink or the disk); the writer's
// own thread sends batches of `batch_size` when full or every `flush_ms`.
// A failed batch stays first in line and is retried with exponential
// back-off. While the sink fails and more than `queue_size` records wait in
// memory, the thread moves them, oldest first, to an append-only spill file;
// when the sink works again the spill file is replayed first, in order, and
// removed once all of it is written, then the memory queue follows. Records
// are never dropped and never reordered; one may be sent again after a
// failure or a restart, which sinks absorb by request id.
//
// A writer belongs to its sink's *name*, not to one pipeline: a reload that
// keeps the name hands the running writer the new pipeline's sink
// (useSink), so one spill file has one writer and nothing queued is left
// behind with the old configuration (see AuditWriters).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Logger.h>
#include <Poco/Util/AbstractConfiguration.h>

#include "SpillFile.h"
#include "sluice/Metrics.h"
#include "sluice/Stages.h"

namespace sluice::kernel {

// `audit.*` as the writers read it.
struct AuditWriterSettings {
    std::size_t batchSize = 500;
    std::chrono::milliseconds flushInterval{1000};
    std::chrono::milliseconds retryBase{200};
    std::chrono::milliseconds retryMax{30000};
    std::size_t queueSize = 50000;
    std::filesystem::path spillDirectory;  // resolved: absolute, or relative to the working directory
    std::chrono::milliseconds shutdownFlush{10000};
    std::size_t maxPromptBytes = 65536;
    std::chrono::milliseconds maintainInterval{60000};  // not a key: sinks are asked about once a minute
};

// Reads and validates `audit.*`; a relative spill_dir is taken from `config.dir`
// (the config file's folder). Throws ConfigError naming the key.
AuditWriterSettings readAuditWriterSettings(const Poco::Util::AbstractConfiguration& config);

// One finished request as a request thread hands it over. When the record's
// prompt is logged, `capturedAnswer` holds the bytes the client was sent; the
// writer thread turns them into record.answer.
struct AuditEntry {
    AuditRecord record;
    std::string capturedAnswer;
};

class AuditWriter {
public:
    // Ownership: shares the sink with the pipeline that built it, so a sink
    // being written to outlives a reload that retired its pipeline.
    // Counters `sluice_audit_*{sink=name}` are registered in `metrics`.
    AuditWriter(std::string sinkName, std::shared_ptr<AuditSink> sink, AuditWriterSettings settings,
                MetricsRegistry& metrics);
    ~AuditWriter();
    AuditWriter(const AuditWriter&) = delete;
    AuditWriter& operator=(const AuditWriter&) = delete;

    // Starts the writer thread; a spill file an earlier run left is replayed first.
    void start();

    // Thread: any. Batches from now on go to `sink` (a reloaded pipeline's);
    // a write in progress finishes on the old one.
    void useSink(std::shared_ptr<AuditSink> sink);
    const AuditWriterSettings& settings() const { return _settings; }

    // Thread: any. O(1): a short lock and a push. After stop(), the record
    // goes straight to the spill file instead, so a straggler is not lost.
    void enqueue(AuditEntry entry);

    // Writes what is queued, for at most `shutdown_flush_ms`; what the sink
    // did not take by then goes to the spill file for the next start.
    // Idempotent; blocks until done.
    void stop();
    // Starts that final flush without waiting for it, so several writers
    // flush at once; stop() then waits.
    void beginStop();

    const std::string& sinkName() const { return _sinkName; }
    const std::filesystem::path& spillPath() const { return _spill.path(); }

private:
    using Clock = std::chrono::steady_clock;

    void run();
    // Takes the next batch if none is in hand, writes it, and handles the result.
    // Called with the lock held; releases it around the sink and the disk.
    void writeNext(std::unique_lock<std::mutex>& lock);
    // Moves the batch in hand (if it came from memory) and the memory queue
    // to the spill file. Lock held on entry and exit. False: the disk failed
    // too and everything stays in memory.
    bool spillMemory(std::unique_lock<std::mutex>& lock);
    bool hasWork() const { return !_batch.empty() || _spill.pending() || !_queue.empty(); }
    std::size_t inMemory() const { return _queue.size() + (_batchFromSpill ? 0 : _batch.size()); }
    // The record as sinks get it: the answer's text drawn from the captured bytes.
    AuditRecord finished(AuditEntry&& entry) const;
    SinkResult writeToSink(const std::vector<AuditRecord>& batch);
    std::shared_ptr<AuditSink> currentSink() const;

    const std::string _sinkName;
    mutable std::mutex _sinkMutex;  // guards _sink only: never held while the sink works
    std::shared_ptr<AuditSink> _sink;
    const AuditWriterSettings _settings;
    Poco::Logger& _log;
    Counter& _written;
    Counter& _spilled;
    Counter& _replayed;
    Counter& _failures;
    Gauge& _queued;

    std::mutex _mutex;
    std::condition_variable _wake;
    // Guarded by _mutex.
    std::deque<AuditEntry> _queue;
    bool _stopping = false;
    bool _stopped = false;  // the thread has ended: enqueue() spills directly

    // The writer thread's own state (touched by others only after it ended).
    SpillFile _spill;
    std::vector<AuditRecord> _batch;  // in hand: being written or waiting for its retry
    bool _batchFromSpill = false;
    std::uint64_t _batchSpillEnd = 0;  // spill position after the batch in hand
    bool _failing = false;
    std::chrono::milliseconds _backoff;
    Clock::time_point _retryAt;
    Clock::time_point _nextFlush;
    Clock::time_point _nextMaintain;
    Clock::time_point _spillBlockedUntil;  // after the disk refused a spill
    std::size_t _batchInMemory = 0;  // guarded by _mutex: records of the batch in hand that came from memory

    std::thread _thread;
};

} // namespace sluice::kernel
