#pragma once
// The process's audit writers, one per sink name, shared by the pipelines
// that name that sink. A reload builds new sinks; attach() hands each to the
// running writer of its name instead of starting a second writer on the same
// spill file, and what was waiting for the old sink is written to the new
// one. A writer stops (flushing, then spilling what is left) when the last
// pipeline that names its sink lets go of it: at shutdown, or when a reload
// dropped the sink and the old pipeline's last request has ended.
// Thread: attach() from the thread that starts a pipeline; writers are
// released from whichever thread drops a pipeline.

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "AuditWriter.h"

namespace sluice::kernel {

class AuditWriters {
public:
    explicit AuditWriters(MetricsRegistry& metrics) : _metrics(metrics) {}
    // Every writer must have been released first (pipelines go before this).
    ~AuditWriters() = default;
    AuditWriters(const AuditWriters&) = delete;
    AuditWriters& operator=(const AuditWriters&) = delete;

    // The running writer for `name`, now writing to `sink`; or a new one,
    // started with `settings`. A running writer keeps the settings it was
    // started with (the writer keys apply to a sink newly named, or after a
    // restart). Waits while a writer of that name is still stopping.
    std::shared_ptr<AuditWriter> attach(const std::string& name, std::shared_ptr<AuditSink> sink,
                                        const AuditWriterSettings& settings);

private:
    void release(const std::string& name, AuditWriter* writer);

    MetricsRegistry& _metrics;
    std::mutex _mutex;
    std::condition_variable _released;
    // Guarded by _mutex. An entry lives from the writer's start until it has
    // stopped, so no second writer opens its spill file meanwhile.
    std::map<std::string, std::weak_ptr<AuditWriter>> _writers;
};

} // namespace sluice::kernel
