#pragma once
// The `jsonl` audit sink: one JSON object per line, appended to a file that
// is rotated by size (path.1 the newest rotated, up to path.keep), with the
// prompt text of opted-in tenants in a second file rotated the same way. A
// batch is written whole or not at all: on a failure both files are cut back
// to their size before it. Request ids written recently are remembered (and
// read back from the current file's tail on start) so a batch written again
// is skipped. Files are opened per batch, so a path that comes back works at
// once. Thread: the kernel's audit writer thread for this sink only.

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_set>

#include "AuditSettings.h"
#include "sluice/Stages.h"

namespace sluice::audit {

class JsonlSink : public AuditSink {
public:
    explicit JsonlSink(JsonlSinkSettings settings);

    SinkResult write(const std::vector<AuditRecord>& batch) override;
    // Removes rotated files whose newest line is past retention.
    void maintain(std::chrono::system_clock::time_point now) override;

private:
    void remember(const std::string& requestId);
    void loadRecentIds();

    JsonlSinkSettings _settings;
    std::unordered_set<std::string> _recent;
    std::deque<std::string> _recentOrder;  // oldest first, to forget in order
};

} // namespace sluice::audit
