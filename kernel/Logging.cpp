#include "Logging.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <iterator>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/File.h>
#include <Poco/FileChannel.h>
#include <Poco/Formatter.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/Path.h>
#include <nlohmann/json.hpp>

#include "sluice/AuditJson.h"
#include "sluice/ConfigError.h"
#include "sluice/ConfigReader.h"

namespace sluice::kernel {

namespace {

thread_local std::string currentRequestId;

// A field of a log line: a string, a number or a flag.
using FieldValue = std::variant<std::string_view, std::int64_t, std::uint64_t, bool>;
struct LineField {
    std::string_view name;
    FieldValue value;
};

// A line's extra fields (the access line's), in alphabetical order as lines
// have always had them, set on the logging thread for the length of its
// log() call: the formatting channel formats on that thread, before log()
// returns (there is no asynchronous channel). Handed over as they are,
// views of the audit record's own strings: built as a JSON object, then
// formatted, they were most of the access line's cost (an allocation per
// field, twice, and a search of the object per insert).
thread_local const std::vector<LineField>* lineFields = nullptr;

const std::vector<LineField>& fieldsOfLine() {
    static const std::vector<LineField> none;
    return lineFields ? *lineFields : none;
}

// Decimal digits straight into the line, without a string of their own.
template <typename Number>
void appendNumber(Number n, std::string& out) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.append(digits, end);
}

// A number or flag as a text line writes it (as JSON writes it).
void appendFieldValue(const FieldValue& value, std::string& out) {
    std::visit(
        [&out](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string_view>) appendLogValue(v, out);
            else if constexpr (std::is_same_v<T, bool>) out += v ? "true" : "false";
            else appendNumber(v, out);
        },
        value);
}

// `width` digits of n, zero-padded.
void appendPadded(unsigned n, int width, std::string& out) {
    char digits[8];
    for (int i = width - 1; i >= 0; --i, n /= 10) digits[i] = static_cast<char>('0' + n % 10);
    out.append(digits, static_cast<std::size_t>(width));
}

// "2026-12-01 20:09:10.025 ", in UTC, as Poco's DateTimeFormatter wrote it
// with "%Y-%m-%d %H:%M:%S.%i ": by hand because Poco's parsed the pattern and
// went through a Julian day in floating point, some 2,000 instructions a line.
void appendLineTime(const Poco::Timestamp& time, std::string& out) {
    using namespace std::chrono;
    const sys_time<milliseconds> at{floor<milliseconds>(microseconds(time.epochMicroseconds()))};
    const auto day = floor<days>(at);
    const year_month_day date{day};
    const hh_mm_ss clock{at - day};
    appendPadded(static_cast<unsigned>(static_cast<int>(date.year())), 4, out);
    out += '-';
    appendPadded(static_cast<unsigned>(date.month()), 2, out);
    out += '-';
    appendPadded(static_cast<unsigned>(date.day()), 2, out);
    out += ' ';
    appendPadded(static_cast<unsigned>(clock.hours().count()), 2, out);
    out += ':';
    appendPadded(static_cast<unsigned>(clock.minutes().count()), 2, out);
    out += ':';
    appendPadded(static_cast<unsigned>(clock.seconds().count()), 2, out);
    out += '.';
    appendPadded(static_cast<unsigned>(clock.subseconds().count()), 3, out);
    out += ' ';
}

nlohmann::ordered_json jsonOf(const FieldValue& value) {
    return std::visit(
        [](const auto& v) -> nlohmann::ordered_json {
            if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string_view>) return std::string(v);
            else return v;
        },
        value);
}

// A level's name in JSON lines and in text lines, indexed by Poco's
// priority (PRIO_FATAL = 1 … PRIO_TRACE = 8); 0 stands for anything else.
struct LevelNames {
    const char* json;
    const char* text;
};
constexpr LevelNames kLevels[] = {{"info", "Information"}, {"fatal", "Fatal"},   {"critical", "Critical"},
                                  {"error", "Error"},       {"warning", "Warning"}, {"notice", "Notice"},
                                  {"info", "Information"},  {"debug", "Debug"},     {"trace", "Trace"}};

const LevelNames& levelNames(Poco::Message::Priority priority) {
    const auto index = static_cast<std::size_t>(priority);
    return kLevels[index < std::size(kLevels) ? index : 0];
}

std::string timestamp(const Poco::Message& message) {
    return Poco::DateTimeFormatter::format(message.getTime(), "%Y-%m-%dT%H:%M:%S.%iZ");
}

// 2026-12-01 20:09:10.025 Information sluice.kernel [request-id]: text key=value key="a value"
//
// A message and its fields carry client- and backend-supplied strings (a
// model name, a path, an error message): written raw, a CR or LF in one
// starts a line of the client's making ("... reloaded: configuration
// generation 99"). So the text escapes every control character, and a field
// value with a blank, quote, '=' or backslash is quoted, so one value
// cannot pose as further fields.
class TextFormatter final : public Poco::Formatter {
public:
    void format(const Poco::Message& message, std::string& text) override {
        text.clear();
        text.reserve(kTypicalLine);
        appendLineTime(message.getTime(), text);
        text += levelNames(message.getPriority()).text;
        text += ' ';
        text += message.getSource();
        if (!currentRequestId.empty()) {
            text += " [";
            text += currentRequestId;
            text += ']';
        }
        text += ": ";
        appendLogText(message.getText(), text);
        // Field names are the gateway's own (the audit record's, the trace
        // headers'): nothing in them to escape.
        for (const auto& [name, value] : fieldsOfLine()) {
            text += ' ';
            text += name;
            text += '=';
            appendFieldValue(value, text);
        }
    }

private:
    // An access line's length, about: one allocation for most lines.
    static constexpr std::size_t kTypicalLine = 512;
};

// {"time":…,"level":…,"logger":…,"request_id":…,"message":…, fields…}
class JsonFormatter final : public Poco::Formatter {
public:
    void format(const Poco::Message& message, std::string& text) override {
        nlohmann::ordered_json line{{"time", timestamp(message)},
                                    {"level", levelNames(message.getPriority()).json},
                                    {"logger", message.getSource()}};
        if (!currentRequestId.empty()) line["request_id"] = currentRequestId;
        line["message"] = message.getText();
        for (const auto& [name, value] : fieldsOfLine()) {
            const std::string key(name);
            if (!line.contains(key)) line[key] = jsonOf(value);
        }
        text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
};

// Lines go to the file (or stdout) in batches: with the access log on, a
// write() per line was a system call per request, 5% of a proxied
// request's CPU. A line waits at most kBatchWindow. A warning or worse is
// written at once, with every line before it, so the last words before a
// crash are not left in memory; flushLogs() writes the rest at exit.
// (Poco's AsyncChannel queues a notification and wakes its thread per
// line; its FileChannel with flush=false has no time bound at all.)
class BatchingChannel final : public Poco::Channel {
public:
    explicit BatchingChannel(Poco::AutoPtr<Poco::Channel> sink) : _sink(std::move(sink)), _thread([this] { run(); }) {}

    ~BatchingChannel() override {
        {
            std::lock_guard lock(_mutex);
            _stopping = true;
        }
        _wake.notify_one();
        _thread.join();
        write({});
    }

    void log(const Poco::Message& message) override {
        if (message.getPriority() <= Poco::Message::PRIO_WARNING) return write(message.getText());
        bool wake = false;
        bool tooMuch = false;
        {
            std::lock_guard lock(_mutex);
            wake = _pending.empty();  // the writer sleeps until a batch starts
            if (!_pending.empty()) _pending += '\n';
            _pending += message.getText();
            wake = wake || _pending.size() >= kBatchBytes;
            tooMuch = _pending.size() >= kMostPending;
        }
        // A disk that stalls holds back the lines' authors, as it did
        // before, rather than memory growing without end.
        if (tooMuch) return write({});
        if (wake) _wake.notify_one();
    }

    void flush() { write({}); }

private:
    static constexpr auto kBatchWindow = std::chrono::milliseconds(100);
    static constexpr std::size_t kBatchBytes = 64 * 1024;
    static constexpr std::size_t kMostPending = 8 * 1024 * 1024;

    void run() {
        std::unique_lock lock(_mutex);
        while (!_stopping) {
            _wake.wait(lock, [this] { return _stopping || !_pending.empty(); });
            _wake.wait_for(lock, kBatchWindow, [this] { return _stopping || _pending.size() >= kBatchBytes; });
            lock.unlock();
            write({});
            lock.lock();
        }
    }

    // What waits, then `line`, in one write; in the order logged.
    void write(const std::string& line) {
        std::lock_guard writing(_writeMutex);
        std::string batch;
        {
            std::lock_guard lock(_mutex);
            batch.swap(_pending);
        }
        if (!line.empty()) {
            if (!batch.empty()) batch += '\n';
            batch += line;
        }
        if (batch.empty()) return;
        try {
            _sink->log(Poco::Message("sluice", batch, Poco::Message::PRIO_INFORMATION));
        } catch (...) {
            // A log that cannot be written loses its lines, never the request that wrote them.
        }
    }

    Poco::AutoPtr<Poco::Channel> _sink;  // set once
    std::mutex _writeMutex;  // one batch at a time reaches the sink, in order
    std::mutex _mutex;
    std::condition_variable _wake;
    std::string _pending;  // guarded by _mutex: lines not yet written, joined by newlines
    bool _stopping = false;  // guarded by _mutex
    std::thread _thread;  // last: started once the rest is there
};

// The one channel every logger keeps: a reload changes what it writes to,
// never the loggers' channel itself, because Poco's Logger::setChannel
// releases the old channel while other threads may be logging through it.
class SwitchableChannel final : public Poco::Channel {
public:
    void log(const Poco::Message& message) override {
        Poco::AutoPtr<Poco::Channel> current;
        {
            std::lock_guard lock(_mutex);
            current = _current;
        }
        if (current) current->log(message);
    }
    // `batching`: the channel beneath `next` that holds lines back, if any.
    void use(Poco::AutoPtr<Poco::Channel> next, Poco::AutoPtr<BatchingChannel> batching) {
        Poco::AutoPtr<Poco::Channel> before = next;
        Poco::AutoPtr<BatchingChannel> beforeBatching = batching;
        {
            std::lock_guard lock(_mutex);
            before.swap(_current);
            beforeBatching.swap(_batching);
        }
        // Outside the lock, which every logging thread takes: the old
        // channel's last lines are written now (before the new one's), and
        // if it goes here, its thread is joined here, not under the lock.
        if (beforeBatching) beforeBatching->flush();
    }
    void flush() {
        Poco::AutoPtr<BatchingChannel> batching;
        {
            std::lock_guard lock(_mutex);
            batching = _batching;
        }
        if (batching) batching->flush();
    }

private:
    std::mutex _mutex;
    Poco::AutoPtr<Poco::Channel> _current;         // guarded by _mutex
    Poco::AutoPtr<BatchingChannel> _batching;      // guarded by _mutex
};

SwitchableChannel& switchable() {
    static Poco::AutoPtr<SwitchableChannel> channel(new SwitchableChannel);  // lives as long as the process
    return *channel;
}

} // namespace

namespace {
// What a byte needs on a text line: nothing, quoting when in a field's value
// (blank, quote, '=', backslash), or an escape (a control character).
enum class ByteNeeds : unsigned char { Nothing, Quoting, Escape };
constexpr std::array<ByteNeeds, 256> kByteNeeds = [] {
    std::array<ByteNeeds, 256> needs{};
    for (int c = 0; c < 0x20; ++c) needs[static_cast<std::size_t>(c)] = ByteNeeds::Escape;
    needs[0x7f] = ByteNeeds::Escape;
    for (const unsigned char c : {' ', '"', '=', '\\'}) needs[c] = ByteNeeds::Quoting;
    return needs;
}();
ByteNeeds needsOf(char c) { return kByteNeeds[static_cast<unsigned char>(c)]; }
} // namespace

// Both copy runs of bytes that need nothing done in one append, found with
// one table look-up a byte: a byte at a time, and with a search of the
// quoting set for each, they were a good part of the access line's cost.
void appendLogText(std::string_view in, std::string& out) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::size_t run = 0;  // where the bytes not yet appended start
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (needsOf(in[i]) != ByteNeeds::Escape) continue;
        out.append(in.substr(run, i - run));
        run = i + 1;
        const auto u = static_cast<unsigned char>(in[i]);
        switch (in[i]) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            out += "\\x";
            out += kHex[u >> 4];
            out += kHex[u & 15];
        }
    }
    out.append(in.substr(run));
}

void appendLogValue(std::string_view value, std::string& out) {
    const bool plain = !value.empty() && std::none_of(value.begin(), value.end(),
                                                      [](char c) { return needsOf(c) == ByteNeeds::Quoting; });
    if (plain) return appendLogText(value, out);
    out += '"';
    std::size_t run = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] != '"' && value[i] != '\\') continue;
        appendLogText(value.substr(run, i - run), out);
        out += '\\';
        out += value[i];
        run = i + 1;
    }
    appendLogText(value.substr(run), out);
    out += '"';
}

void configureLogging(const Poco::Util::AbstractConfiguration& config, bool checkOnly) {
    ConfigReader reader(config);
    const auto level = reader.text("log.level", "information");
    int priority = 0;
    try {
        priority = Poco::Logger::parseLevel(level);
    } catch (const Poco::Exception&) {
        throw ConfigError("log.level", "'" + level + "' is not a log level (error, warning, notice, information, debug, trace)");
    }
    const auto format = reader.text("log.format", "text");
    Poco::AutoPtr<Poco::Formatter> formatter;
    if (format == "text") formatter = new TextFormatter;
    else if (format == "json") formatter = new JsonFormatter;
    else throw ConfigError("log.format", "'" + format + "' is not a log format (text, json)");

    const auto path = reader.text("log.path");
    Poco::AutoPtr<Poco::Channel> sink;
    if (checkOnly && !path.empty()) {
        const Poco::File file(path);
        const Poco::File folder(Poco::Path(path).parent());
        const bool writable = file.exists() ? file.canWrite() : folder.exists() && folder.canWrite();
        if (!writable) throw ConfigError("log.path", "cannot write to " + path);
    }
    if (path.empty() || checkOnly) {
        sink = new Poco::ConsoleChannel(std::cout);
    } else {
        Poco::AutoPtr<Poco::FileChannel> file(new Poco::FileChannel(path));
        try {
            file->open();  // now, so an unwritable path fails the start or the reload, not the first line
        } catch (const Poco::Exception& e) {
            throw ConfigError("log.path", "cannot write to " + path + ": " + e.displayText());
        }
        sink = file;
    }
    // A check prints a few lines and exits: those go out at once.
    Poco::AutoPtr<BatchingChannel> batching;
    if (!checkOnly) {
        batching = new BatchingChannel(sink);
        sink = batching;
    }
    switchable().use(new Poco::FormattingChannel(formatter, sink), batching);
    static const bool attached = [] {
        // Once, at start, before any other thread logs.
        const Poco::AutoPtr<Poco::Channel> shared(&switchable(), true);  // a reference of the loggers' own
        Poco::Logger::root().setChannel(shared);
        Poco::Logger::setChannel("", shared);
        return true;
    }();
    (void)attached;
    // Loggers made before (by plugins, at a reload) follow the level too.
    Poco::Logger::root().setLevel(priority);
    Poco::Logger::setLevel("", priority);
}

bool accessLogEnabled(const Poco::Util::AbstractConfiguration& config) {
    return ConfigReader(config).flag("log.access", true);
}

namespace {
// The audit record's fields on an access line (all but three), about.
constexpr std::size_t kRecordFields = 24;

// The alphabetical order of the record's fields as visitAuditFields hands
// them over, always the same names in the same order: sorted once, not for
// every line. The few fields of the line's own are put in their places.
const std::vector<std::size_t>& alphabeticalOrder(const std::vector<LineField>& visited) {
    static const std::vector<std::size_t> order = [&visited] {
        std::vector<std::size_t> indexes(visited.size());
        std::iota(indexes.begin(), indexes.end(), std::size_t{0});
        std::sort(indexes.begin(), indexes.end(),
                  [&visited](std::size_t a, std::size_t b) { return visited[a].name < visited[b].name; });
        return indexes;
    }();
    return order;
}
} // namespace

void logAccess(const AuditRecord& record, const std::string& scheme,
               const std::vector<std::pair<std::string, std::string>>& trace) {
    static auto& log = Poco::Logger::get("sluice.access");
    if (!log.information()) return;
    // The audit record's fields (never its prompt or answer) but the request
    // id (on every line already) and its time (the line's own).
    std::vector<LineField> visited;
    visited.reserve(kRecordFields);
    visitAuditFields(record, [&visited](std::string_view name, const auto& value) {
        if (name == "request_id" || name == "time" || name == "at_ms") return;
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, bool>) visited.push_back({name, value});
        else if constexpr (std::is_signed_v<T>) visited.push_back({name, static_cast<std::int64_t>(value)});
        else visited.push_back({name, static_cast<std::uint64_t>(value)});
    });
    std::vector<LineField> fields;
    fields.reserve(visited.size() + 1 + trace.size());
    for (const auto index : alphabeticalOrder(visited)) fields.push_back(visited[index]);
    const auto byName = [](const LineField& a, const LineField& b) { return a.name < b.name; };
    const auto insert = [&](LineField field) {
        fields.insert(std::upper_bound(fields.begin(), fields.end(), field, byName), field);
    };
    insert({"scheme", std::string_view(scheme)});
    for (const auto& [name, value] : trace) insert({name, std::string_view(value)});
    std::string text;
    text.reserve(record.route.size() + 24);
    text += record.route;
    text += ' ';
    appendNumber(record.status, text);
    text += ' ';
    text += outcomeName(record.outcome);
    // Copied from one made once per thread: Poco's constructor asks the
    // process id of the kernel, a system call per line.
    thread_local const Poco::Message made(log.name(), std::string(), Poco::Message::PRIO_INFORMATION);
    Poco::Message message(made);
    message.setText(text);
    message.setTime(Poco::Timestamp());
    lineFields = &fields;
    try {
        log.log(message);
    } catch (...) {
        lineFields = nullptr;
        throw;
    }
    lineFields = nullptr;
}

void flushLogs() { switchable().flush(); }

std::string takeRequestLogId() { return std::exchange(currentRequestId, std::string()); }
void putRequestLogId(std::string id) { currentRequestId = std::move(id); }

RequestLogScope::RequestLogScope(std::string_view requestId) { currentRequestId.assign(requestId); }
RequestLogScope::~RequestLogScope() { currentRequestId.clear(); }

} // namespace sluice::kernel
