#pragma once
// sluiced's log: every line as text or as one JSON object (time, level,
// logger, request id, message and any fields), to stdout or a file, at the
// configured level; and the access log, one line per request with the
// fields of its audit record (never a key, a prompt or an answer).
//
//   log.level = information     error, warning, notice, information, debug, trace
//   log.format = text           or json
//   log.path =                  a file (appended); empty: stdout
//   log.access = true           one sluice.access line per request
//
// A line logged on a request's thread carries that request's id: the front
// sets it for the thread (RequestLogScope) while the request runs.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Poco/Util/AbstractConfiguration.h>

#include "sluice/AuditRecord.h"

namespace sluice::kernel {

// Applies log.level, log.format and log.path to every logger. Throws
// ConfigError naming the key. Called at start and by each reload.
// checkOnly (sluiced --check): log.path is checked, not opened, and lines go
// to stdout, so a check never writes into a running daemon's log file.
void configureLogging(const Poco::Util::AbstractConfiguration& config, bool checkOnly = false);

// Lines reach the log within 100 ms (a warning or worse at once, with
// every line before it): writes what still waits. Called before exit.
void flushLogs();

// log.access (default true).
bool accessLogEnabled(const Poco::Util::AbstractConfiguration& config);

// Logs the access line of a finished request to the `sluice.access` logger;
// `scheme` is how the client reached the gateway (http or https); `trace`
// the W3C trace headers passed on to the backend (http/TraceContext.h), so
// the line ties the request id to the client's trace.
void logAccess(const AuditRecord& record, const std::string& scheme,
               const std::vector<std::pair<std::string, std::string>>& trace = {});

// Appends `in` to a text log line with every control character escaped
// (\n, \r, \t, \xHH), so no string can start a line of its own.
void appendLogText(std::string_view in, std::string& out);
// The same for a key=value field's value, quoted ("…", with \" and \\)
// when it is empty or holds a blank, a quote, '=' or a backslash.
void appendLogValue(std::string_view value, std::string& out);

// Names the request whose thread this is, for every line logged until the
// scope ends. Thread: the request's own.
// A request that goes on on another thread (a parked stream, net/Fiber)
// takes its log id along: taken off the thread it leaves, put on the next.
std::string takeRequestLogId();
void putRequestLogId(std::string id);

class RequestLogScope {
public:
    explicit RequestLogScope(std::string_view requestId);
    ~RequestLogScope();
    RequestLogScope(const RequestLogScope&) = delete;
    RequestLogScope& operator=(const RequestLogScope&) = delete;
};

} // namespace sluice::kernel
