#include "JsonlSink.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sluice/AuditJson.h"

namespace sluice::audit {

namespace {

namespace fs = std::filesystem;

// What the current file's tail is read for ids on start: enough for the
// ids remembered at a few hundred bytes a line.
constexpr off_t kTailBytes = 64 * 1024 * 1024;

std::string dump(const nlohmann::ordered_json& json) {
    return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string rotated(const std::string& path, int n) { return path + "." + std::to_string(n); }

class WriteFailed : public std::runtime_error {
public:
    WriteFailed(const std::string& path, const char* what, int error)
        : std::runtime_error("audit file " + path + ": " + what + ": " + std::strerror(error)) {}
};

// One file being appended to for one batch: remembers its size before, so
// the batch can be undone.
class Appender {
public:
    explicit Appender(std::string path) : _path(std::move(path)) {}
    ~Appender() {
        if (_fd >= 0) ::close(_fd);
    }
    Appender(const Appender&) = delete;
    Appender& operator=(const Appender&) = delete;

    void append(const std::string& text) {
        if (text.empty()) return;
        if (_fd < 0) {
            _fd = ::open(_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
            if (_fd < 0) throw WriteFailed(_path, "cannot open", errno);
            struct stat info {};
            if (::fstat(_fd, &info) != 0) throw WriteFailed(_path, "cannot stat", errno);
            _before = info.st_size;
        }
        const char* data = text.data();
        std::size_t left = text.size();
        while (left > 0) {
            const auto n = ::write(_fd, data, left);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw WriteFailed(_path, "cannot write", errno);
            }
            data += n;
            left -= static_cast<std::size_t>(n);
        }
    }
    void sync() {
        if (_fd >= 0 && ::fdatasync(_fd) != 0) throw WriteFailed(_path, "cannot sync", errno);
    }
    // Cuts the file back to its size before this batch.
    void undo() noexcept {
        if (_fd >= 0) {
            [[maybe_unused]] const auto ignored = ::ftruncate(_fd, _before);
        }
    }

private:
    std::string _path;
    int _fd = -1;
    off_t _before = 0;
};

std::uintmax_t sizeOf(const std::string& path) {
    std::error_code error;
    const auto size = fs::file_size(path, error);
    return error ? 0 : size;
}

// path → path.1 → … → path.keep (the oldest goes). Throws on failure.
void rotate(const std::string& path, int keep) {
    std::error_code error;
    fs::remove(rotated(path, keep), error);
    for (int n = keep - 1; n >= 1; --n)
        if (fs::exists(rotated(path, n), error)) fs::rename(rotated(path, n), rotated(path, n + 1));
    fs::rename(path, rotated(path, 1));
}

// The last non-empty line of a file, reading backwards from its end.
std::optional<std::string> lastLine(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        ::close(fd);
        return std::nullopt;
    }
    std::string tail;
    off_t end = info.st_size;
    while (end > 0) {
        const off_t start = end > 65536 ? end - 65536 : 0;
        std::string chunk(static_cast<std::size_t>(end - start), '\0');
        if (::pread(fd, chunk.data(), chunk.size(), start) != static_cast<ssize_t>(chunk.size())) break;
        tail.insert(0, chunk);
        end = start;
        while (!tail.empty() && tail.back() == '\n') tail.pop_back();
        const auto newline = tail.rfind('\n');
        if (newline != std::string::npos) {
            ::close(fd);
            return tail.substr(newline + 1);
        }
    }
    ::close(fd);
    if (tail.empty()) return std::nullopt;
    return tail;
}

} // namespace

JsonlSink::JsonlSink(JsonlSinkSettings settings) : _settings(std::move(settings)) { loadRecentIds(); }

void JsonlSink::remember(const std::string& requestId) {
    if (!_recent.insert(requestId).second) return;
    _recentOrder.push_back(requestId);
    while (_recentOrder.size() > _settings.recentIds) {
        _recent.erase(_recentOrder.front());
        _recentOrder.pop_front();
    }
}

void JsonlSink::loadRecentIds() {
    const int fd = ::open(_settings.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;  // no file yet, or not readable: nothing written to skip
    struct stat info {};
    std::string text;
    if (::fstat(fd, &info) == 0) {
        const off_t start = info.st_size > kTailBytes ? info.st_size - kTailBytes : 0;
        text.resize(static_cast<std::size_t>(info.st_size - start));
        const auto n = ::pread(fd, text.data(), text.size(), start);
        text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        // A partial first line (the tail started mid-line) is dropped.
        if (start > 0) {
            const auto newline = text.find('\n');
            text.erase(0, newline == std::string::npos ? text.size() : newline + 1);
        }
    }
    ::close(fd);
    std::size_t at = 0;
    while (at < text.size()) {
        auto end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        const auto line = nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(at),
                                                text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
        if (line.is_object() && line.contains("request_id") && line["request_id"].is_string())
            remember(line["request_id"].get<std::string>());
        at = end + 1;
    }
}

SinkResult JsonlSink::write(const std::vector<AuditRecord>& batch) {
    try {
        std::string records;
        std::string prompts;
        std::vector<std::string> ids;
        std::unordered_set<std::string> inBatch;
        for (const auto& record : batch) {
            if (_recent.count(record.requestId) != 0 || !inBatch.insert(record.requestId).second) continue;
            records += dump(auditRecordJson(record)) + "\n";
            if (record.promptLogged) prompts += dump(auditPromptJson(record)) + "\n";
            ids.push_back(record.requestId);
        }
        if (ids.empty()) return {};

        // Rotate before a batch that would take a non-empty file past max_bytes.
        if (const auto size = sizeOf(_settings.path); size > 0 && size + records.size() > _settings.maxBytes)
            rotate(_settings.path, _settings.keep);
        if (const auto size = sizeOf(_settings.promptsPath); !prompts.empty() && size > 0 && size + prompts.size() > _settings.maxBytes)
            rotate(_settings.promptsPath, _settings.keep);

        Appender recordFile(_settings.path);
        Appender promptFile(_settings.promptsPath);
        try {
            recordFile.append(records);
            promptFile.append(prompts);
            recordFile.sync();
            promptFile.sync();
        } catch (...) {
            recordFile.undo();
            promptFile.undo();
            throw;
        }
        for (const auto& id : ids) remember(id);
        return {};
    } catch (const std::exception& e) {
        return {false, e.what()};
    } catch (...) {
        return {false, "audit file " + _settings.path + ": unknown error"};
    }
}

void JsonlSink::maintain(std::chrono::system_clock::time_point now) {
    const auto nowMs = epochMillis(now);
    auto sweep = [&](const std::string& path, int days) {
        const long long cutoff = nowMs - static_cast<long long>(days) * 86'400'000LL;
        for (int n = 1; n <= _settings.keep; ++n) {
            const auto file = rotated(path, n);
            const auto line = lastLine(file);
            if (!line) continue;
            const auto json = nlohmann::json::parse(*line, nullptr, false);
            if (!json.is_object() || !json.contains("at_ms") || !json["at_ms"].is_number_integer()) continue;
            if (json["at_ms"].get<long long>() < cutoff) {
                std::error_code error;
                fs::remove(file, error);
            }
        }
    };
    try {
        sweep(_settings.path, _settings.retentionDays);
        sweep(_settings.promptsPath, _settings.promptRetentionDays);
    } catch (...) {
        // Housekeeping only: the next call tries again.
    }
}

} // namespace sluice::audit
