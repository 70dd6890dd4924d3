#pragma once
// W3C Trace Context (traceparent, tracestate): a client's trace goes on to
// the backend and into the access log, so one trace spans client, gateway
// and model server. Only well-formed values pass: they become header lines.

#include <string>
#include <utility>
#include <vector>

namespace sluice::kernel {

// The trace headers of a request (lower-case names, as RequestContext holds
// them) that may be passed on: traceparent when it has the W3C form
// (version-traceid-parentid-flags, lower-case hex, ids not all zero), and
// tracestate only beside a valid traceparent, printable and at most 512
// bytes. Each at most once, in that order.
std::vector<std::pair<std::string, std::string>> traceHeaders(const std::vector<std::pair<std::string, std::string>>& headers);

} // namespace sluice::kernel
