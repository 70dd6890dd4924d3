#include "AuditWriter.h"

#include <algorithm>

#include "AnswerCapture.h"
#include "sluice/ConfigReader.h"

namespace sluice::kernel {

AuditWriterSettings readAuditWriterSettings(const Poco::Util::AbstractConfiguration& config) {
    ConfigReader reader(config);
    AuditWriterSettings settings;
    settings.batchSize = static_cast<std::size_t>(reader.integer("audit.batch_size", 500, 1, 100000));
    settings.flushInterval = reader.millis("audit.flush_ms", settings.flushInterval);
    settings.retryBase = reader.millis("audit.retry_ms", settings.retryBase);
    settings.retryMax = reader.millis("audit.retry_max_ms", settings.retryMax);
    if (settings.retryMax < settings.retryBase)
        throw ConfigError("audit.retry_max_ms", "must not be less than audit.retry_ms");
    settings.queueSize = static_cast<std::size_t>(reader.integer("audit.queue_size", 50000, 1, 100000000));
    settings.shutdownFlush = reader.millis("audit.shutdown_flush_ms", settings.shutdownFlush);
    settings.maxPromptBytes =
        static_cast<std::size_t>(reader.integer("audit.max_prompt_bytes", 65536, 0, 64LL * 1024 * 1024));
    std::filesystem::path spill(reader.text("audit.spill_dir", "../var/audit-spill"));
    if (spill.empty()) throw ConfigError("audit.spill_dir", "must name a folder");
    if (spill.is_relative()) {
        const auto base = reader.text("config.dir");
        if (!base.empty()) spill = std::filesystem::path(base) / spill;
    }
    settings.spillDirectory = spill.lexically_normal();
    return settings;
}

AuditWriter::AuditWriter(std::string sinkName, std::shared_ptr<AuditSink> sink, AuditWriterSettings settings,
                         MetricsRegistry& metrics)
    : _sinkName(std::move(sinkName)),
      _sink(std::move(sink)),
      _settings(std::move(settings)),
      _log(Poco::Logger::get("sluice.audit")),
      _written(metrics.counter("sluice_audit_records_total", "Audit records by sink and what became of them.",
                               {{"sink", _sinkName}, {"result", "written"}})),
      _spilled(metrics.counter("sluice_audit_records_total", "Audit records by sink and what became of them.",
                               {{"sink", _sinkName}, {"result", "spilled"}})),
      _replayed(metrics.counter("sluice_audit_records_total", "Audit records by sink and what became of them.",
                                {{"sink", _sinkName}, {"result", "replayed"}})),
      _failures(metrics.counter("sluice_audit_write_failures_total", "Audit batches a sink failed to write.",
                                {{"sink", _sinkName}})),
      _queued(metrics.gauge("sluice_audit_queue", "Audit records waiting in memory for their sink.", {{"sink", _sinkName}})),
      _spill(_settings.spillDirectory / (_sinkName + ".jsonl")),
      _backoff(_settings.retryBase) {}

AuditWriter::~AuditWriter() { stop(); }

void AuditWriter::start() {
    if (_spill.pending())
        _log.information("audit sink %s: replaying %s left by an earlier run", _sinkName, _spill.path().string());
    _thread = std::thread([this] { run(); });
}

void AuditWriter::useSink(std::shared_ptr<AuditSink> sink) {
    std::lock_guard lock(_sinkMutex);
    _sink = std::move(sink);
}

std::shared_ptr<AuditSink> AuditWriter::currentSink() const {
    std::lock_guard lock(_sinkMutex);
    return _sink;
}

void AuditWriter::enqueue(AuditEntry entry) {
    std::unique_lock lock(_mutex);
    if (_stopped) {
        // The writer thread has ended (shut down): nobody else touches the
        // spill file now, and the next start replays it. Shutdown only.
        try {
            _spill.append({finished(std::move(entry))});
            _spilled.inc();
        } catch (const std::exception& e) {
            _log.error("audit sink %s: a record after shutdown could not be spilled: %s", _sinkName, std::string(e.what()));
        }
        return;
    }
    _queue.push_back(std::move(entry));
    _queued.add(1);
    // Wake the writer only when it has something to do before its next
    // timer: a full batch, or memory past its bound (spilled while failing).
    const bool wake = _queue.size() == _settings.batchSize || _queue.size() + _batchInMemory > _settings.queueSize;
    lock.unlock();
    if (wake) _wake.notify_one();
}

void AuditWriter::beginStop() {
    {
        std::lock_guard lock(_mutex);
        if (_stopped || !_thread.joinable()) return;
        _stopping = true;
    }
    _wake.notify_all();
}

void AuditWriter::stop() {
    {
        std::unique_lock lock(_mutex);
        // Ended after beginStop(): only the join is left.
        if (_stopped && !_thread.joinable()) return;
        _stopping = true;
        if (!_thread.joinable()) {
            // Never started (a --check run): keep whatever was queued for the next start.
            if (inMemory() > 0) spillMemory(lock);
            _stopped = true;
            return;
        }
    }
    _wake.notify_all();
    if (_thread.joinable()) _thread.join();
}

void AuditWriter::run() {
    std::unique_lock lock(_mutex);
    _nextFlush = Clock::now() + _settings.flushInterval;
    _nextMaintain = Clock::now() + _settings.maintainInterval;
    auto overBound = [this] { return inMemory() > _settings.queueSize && Clock::now() >= _spillBlockedUntil; };
    while (!_stopping) {
        const auto now = Clock::now();
        if (_failing && overBound()) {
            spillMemory(lock);
            continue;
        }
        if (_failing && now < _retryAt) {
            _wake.wait_until(lock, _retryAt, [&] { return _stopping || overBound(); });
            continue;
        }
        const bool ready = !_batch.empty() || _spill.pending() || _queue.size() >= _settings.batchSize ||
                           (!_queue.empty() && now >= _nextFlush);
        if (ready) {
            writeNext(lock);
            continue;
        }
        if (now >= _nextMaintain) {
            // Idle: the sink's housekeeping (retention purges) runs now.
            _nextMaintain = now + _settings.maintainInterval;
            lock.unlock();
            try {
                currentSink()->maintain(std::chrono::system_clock::now());
            } catch (const std::exception& e) {
                _log.error("audit sink %s: maintenance failed: %s", _sinkName, std::string(e.what()));
            } catch (...) {
                _log.error("audit sink %s: maintenance threw a non-exception", _sinkName);
            }
            lock.lock();
            continue;
        }
        if (now >= _nextFlush) _nextFlush = now + _settings.flushInterval;  // nothing was waiting
        _wake.wait_until(lock, std::min(_nextFlush, _nextMaintain),
                         [&] { return _stopping || _queue.size() >= _settings.batchSize; });
    }

    // Shutting down: write what waits while the time allows, then keep the
    // rest on disk for the next start.
    const auto deadline = Clock::now() + _settings.shutdownFlush;
    while (hasWork() && Clock::now() < deadline) {
        if (_failing && Clock::now() < _retryAt) {
            _wake.wait_until(lock, std::min(_retryAt, deadline));
            continue;
        }
        writeNext(lock);
    }
    if (inMemory() > 0) {
        if (spillMemory(lock))
            _log.information("audit sink %s: records not written by shutdown are in %s for the next start", _sinkName,
                             _spill.path().string());
        else
            _log.critical("audit sink %s: %z records could be neither written nor spilled and are lost", _sinkName,
                          inMemory());
    }
    _stopped = true;
}

void AuditWriter::writeNext(std::unique_lock<std::mutex>& lock) {
    if (_batch.empty()) {
        if (_spill.pending()) {
            // The spill file holds the oldest records: it goes first.
            lock.unlock();
            std::uint64_t next = 0;
            auto batch = _spill.read(_settings.batchSize, next);
            lock.lock();
            _batch = std::move(batch);
            _batchFromSpill = true;
            _batchSpillEnd = next;
            if (_batch.empty()) {
                _spill.commit(next);  // only lines that were not records
                return;
            }
        } else {
            const auto count = std::min(_settings.batchSize, _queue.size());
            std::vector<AuditEntry> taken;
            taken.reserve(count);
            for (std::size_t i = 0; i < count; ++i) {
                taken.push_back(std::move(_queue.front()));
                _queue.pop_front();
            }
            _batchFromSpill = false;
            _batchInMemory = count;
            _nextFlush = Clock::now() + _settings.flushInterval;
            lock.unlock();
            std::vector<AuditRecord> batch;
            batch.reserve(count);
            for (auto& entry : taken) batch.push_back(finished(std::move(entry)));
            lock.lock();
            _batch = std::move(batch);
        }
    }

    lock.unlock();
    const auto result = writeToSink(_batch);
    lock.lock();
    if (result.ok) {
        if (_batchFromSpill) {
            _replayed.inc(_batch.size());
            _spill.commit(_batchSpillEnd);
            if (!_spill.pending()) _log.information("audit sink %s: spilled records replayed", _sinkName);
        } else {
            _written.inc(_batch.size());
            _queued.add(-static_cast<std::int64_t>(_batch.size()));
            _batchInMemory = 0;
        }
        _batch.clear();
        if (_failing) _log.information("audit sink %s: writing again", _sinkName);
        _failing = false;
        _backoff = _settings.retryBase;
        return;
    }
    _failures.inc();
    if (!_failing)
        _log.warning("audit sink %s: write failed (%s); retrying, records are kept", _sinkName, result.error);
    else
        _log.debug("audit sink %s: write failed again (%s)", _sinkName, result.error);
    _failing = true;
    _retryAt = Clock::now() + _backoff;
    _backoff = std::min(_backoff * 2, _settings.retryMax);
}

bool AuditWriter::spillMemory(std::unique_lock<std::mutex>& lock) {
    // Oldest first: the batch in hand (if it came from memory), then the queue.
    // The spill file then holds a prefix of everything not yet written, which
    // is why it is replayed first.
    const bool batchTaken = !_batchFromSpill && !_batch.empty();
    std::vector<AuditRecord> records;
    if (batchTaken) records = std::move(_batch);
    _batch.clear();
    const auto batchCount = records.size();
    std::deque<AuditEntry> taken;
    taken.swap(_queue);
    lock.unlock();

    records.reserve(records.size() + taken.size());
    for (auto& entry : taken) records.push_back(finished(std::move(entry)));
    std::string error;
    try {
        _spill.append(records);
    } catch (const std::exception& e) {
        error = e.what();
    }

    lock.lock();
    if (error.empty()) {
        _spilled.inc(records.size());
        _queued.add(-static_cast<std::int64_t>(records.size()));
        _batchInMemory = 0;
        _log.information("audit sink %s: %z records moved to %s", _sinkName, records.size(), _spill.path().string());
        return true;
    }
    // The disk refused too: everything stays in memory, in order, and the
    // spill is tried again after the next back-off.
    _log.error("audit sink %s: cannot spill: %s; %z records kept in memory", _sinkName, error, records.size());
    if (batchTaken) _batch.assign(std::make_move_iterator(records.begin()), std::make_move_iterator(records.begin() + batchCount));
    for (auto it = records.rbegin(); it != records.rend() - static_cast<std::ptrdiff_t>(batchCount); ++it)
        _queue.push_front(AuditEntry{std::move(*it), {}});
    _spillBlockedUntil = Clock::now() + _backoff;
    return false;
}

AuditRecord AuditWriter::finished(AuditEntry&& entry) const {
    if (entry.record.promptLogged && !entry.capturedAnswer.empty()) {
        entry.record.answer = answerText(entry.capturedAnswer);
        cutUtf8(entry.record.answer, _settings.maxPromptBytes);
    }
    return std::move(entry.record);
}

SinkResult AuditWriter::writeToSink(const std::vector<AuditRecord>& batch) {
    try {
        return currentSink()->write(batch);
    } catch (const std::exception& e) {
        return {false, std::string("threw: ") + e.what()};
    } catch (...) {
        return {false, "threw a non-exception"};
    }
}

} // namespace sluice::kernel
