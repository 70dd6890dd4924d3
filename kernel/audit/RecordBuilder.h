#pragma once
// The audit record of one finished request, read off its RequestContext.

#include <cstddef>
#include <string>

#include "AuditWriter.h"
#include "sluice/RequestContext.h"

namespace sluice::kernel {

// Who (tenant and key id, never the key), from where, which call and model,
// what served it, how it ended, tokens, timings and bytes. Only when the
// principal logs prompts: the request's messages / prompt / input as compact
// JSON, cut to `maxPromptBytes`, and `capturedAnswer`, the bytes the client
// was sent (CapturingChannel), for the writer to turn into the answer's text.
AuditEntry buildAuditEntry(const RequestContext& ctx, std::size_t maxPromptBytes, std::string capturedAnswer = {});

} // namespace sluice::kernel
