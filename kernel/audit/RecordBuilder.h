#pragma once
// The audit record of one finished request, read off its RequestContext.

#include <cstddef>

#include "AuditWriter.h"
#include "sluice/RequestContext.h"

namespace sluice::kernel {

// Who (tenant and key id, never the key), from where, which call and model,
// what served it, how it ended, tokens, timings and bytes. Only when the
// principal logs prompts: the request's messages / prompt / input as compact
// JSON, and the bytes the client was sent (taken out of the context's
// AnswerCapture) for the writer to turn into the answer's text, each cut to
// `maxPromptBytes`.
AuditEntry buildAuditEntry(RequestContext& ctx, std::size_t maxPromptBytes);

} // namespace sluice::kernel
