#pragma once
// The append-only file where an audit writer keeps records its sink could not
// take while its memory was full: one JSON object per line, appended and
// fsync'd in order, replayed from the front, and removed only once all of it
// has been written. Thread: one audit writer thread (and, after that thread
// has ended, callers holding the writer's lock).

#include <cstdint>
#include <filesystem>
#include <vector>

#include "sluice/AuditRecord.h"

namespace sluice::kernel {

class SpillFile {
public:
    // A file left by an earlier run is picked up whole: it is replayed first.
    explicit SpillFile(std::filesystem::path path);

    const std::filesystem::path& path() const { return _path; }

    // Appends the records in order and fsyncs them. Throws std::system_error
    // (disk full, no permission); the file is then as it was before the call.
    void append(const std::vector<AuditRecord>& records);

    // Whether records wait in the file past the replay position.
    bool pending() const { return _readOffset < _size; }

    // Up to `max` records from the replay position, in order; `next` is the
    // position after them, to commit() once they are written. A torn last
    // line (a crash while appending) and foreign lines are skipped.
    std::vector<AuditRecord> read(std::size_t max, std::uint64_t& next) const;

    // Everything before `offset` is written. Once that is all of the file, the
    // file is removed.
    void commit(std::uint64_t offset);

private:
    std::filesystem::path _path;
    std::uint64_t _size = 0;        // bytes in the file
    std::uint64_t _readOffset = 0;  // bytes already written to the sink
};

} // namespace sluice::kernel
