#include "AuditWriters.h"

namespace sluice::kernel {

std::shared_ptr<AuditWriter> AuditWriters::attach(const std::string& name, std::shared_ptr<AuditSink> sink,
                                                  const AuditWriterSettings& settings) {
    std::unique_lock lock(_mutex);
    for (;;) {
        auto it = _writers.find(name);
        if (it == _writers.end()) break;
        if (auto running = it->second.lock()) {
            running->useSink(std::move(sink));
            return running;
        }
        _released.wait(lock);  // the last owner let go; the writer is flushing
    }
    std::shared_ptr<AuditWriter> writer(new AuditWriter(name, std::move(sink), settings, _metrics),
                                        [this, name](AuditWriter* gone) { release(name, gone); });
    _writers[name] = writer;
    writer->start();
    return writer;
}

void AuditWriters::release(const std::string& name, AuditWriter* writer) {
    writer->stop();  // flushes, or spills for the next start, within audit.shutdown_flush_ms
    delete writer;
    {
        std::lock_guard lock(_mutex);
        _writers.erase(name);
    }
    _released.notify_all();
}

} // namespace sluice::kernel
