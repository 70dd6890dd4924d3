#include "SpillFile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <system_error>

#include <Poco/Logger.h>

#include "sluice/AuditJson.h"

namespace sluice::kernel {

namespace {
[[noreturn]] void fail(const std::string& what, int error) {
    throw std::system_error(error, std::generic_category(), what);
}

void syncDirectory(const std::filesystem::path& directory) {
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // the data itself is synced; a new file's name may need one more sync on some file systems
    ::fsync(fd);
    ::close(fd);
}
} // namespace

SpillFile::SpillFile(std::filesystem::path path) : _path(std::move(path)) {
    std::error_code error;
    const auto size = std::filesystem::file_size(_path, error);
    if (!error) _size = size;
}

void SpillFile::append(const std::vector<AuditRecord>& records) {
    if (records.empty()) return;
    std::string text;
    for (const auto& record : records)
        text += auditRecordJson(record, AuditText::Include).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + '\n';

    std::error_code ignored;
    std::filesystem::create_directories(_path.parent_path(), ignored);  // open() below reports what matters
    const bool created = !std::filesystem::exists(_path);
    const int fd = ::open(_path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) fail("cannot open " + _path.string(), errno);
    // A torn last line (a crash while appending) is closed with a newline,
    // so it cannot swallow the first record appended now; read() skips it.
    const off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) {
        const int error = errno;
        ::close(fd);
        fail("cannot seek in " + _path.string(), error);
    }
    if (end > 0) {
        char last = '\n';
        if (::pread(fd, &last, 1, end - 1) == 1 && last != '\n') text.insert(text.begin(), '\n');
    }
    std::size_t done = 0;
    int error = 0;
    while (done < text.size()) {
        const auto n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            error = errno;
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    if (error == 0 && ::fsync(fd) != 0) error = errno;
    if (error != 0) {
        // Nothing half-written stays behind to break the next line.
        if (::ftruncate(fd, end) != 0) {}
        ::close(fd);
        fail("cannot write " + _path.string(), error);
    }
    ::close(fd);
    if (created) syncDirectory(_path.parent_path());
    _size = static_cast<std::uint64_t>(end) + text.size();
}

std::vector<AuditRecord> SpillFile::read(std::size_t max, std::uint64_t& next) const {
    std::vector<AuditRecord> records;
    next = _readOffset;
    std::ifstream in(_path, std::ios::binary);
    if (!in) {
        next = _size;  // the file is gone: nothing left to replay
        return records;
    }
    in.seekg(static_cast<std::streamoff>(_readOffset));
    std::string line;
    while (records.size() < max && next < _size && std::getline(in, line)) {
        const bool whole = !in.eof();  // getline stopped at a newline
        next += line.size() + (whole ? 1 : 0);
        if (!whole) break;  // a torn last line: skipped below
        if (line.empty()) continue;
        if (auto record = auditRecordFromJson(nlohmann::json::parse(line, nullptr, false))) {
            records.push_back(std::move(*record));
        } else {
            Poco::Logger::get("sluice.audit").error("%s: skipping a line that is not an audit record", _path.string());
        }
    }
    if (records.size() < max && next < _size) next = _size;  // a torn tail, or the file shrank under us
    return records;
}

void SpillFile::commit(std::uint64_t offset) {
    _readOffset = offset;
    if (_readOffset < _size) return;
    std::error_code error;
    std::filesystem::remove(_path, error);
    if (error)
        Poco::Logger::get("sluice.audit").error("%s: replayed but cannot be removed: %s", _path.string(), error.message());
    _readOffset = 0;
    _size = 0;
}

} // namespace sluice::kernel
