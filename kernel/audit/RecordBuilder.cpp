#include "RecordBuilder.h"

#include "AnswerCapture.h"

namespace sluice::kernel {

namespace {
double millisBetween(std::chrono::steady_clock::time_point from, std::chrono::steady_clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

// What the client asked, as compact JSON text: chat messages, a prompt, or an embedding input.
std::string promptOf(const nlohmann::json& body) {
    if (!body.is_object()) return {};
    for (const char* key : {"messages", "prompt", "input"}) {
        auto it = body.find(key);
        if (it != body.end() && !it->is_null()) return it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    return {};
}
} // namespace

AuditEntry buildAuditEntry(const RequestContext& ctx, std::size_t maxPromptBytes, std::string capturedAnswer) {
    const auto now = std::chrono::steady_clock::now();
    AuditEntry entry;
    auto& record = entry.record;
    record.time = std::chrono::system_clock::now() -
                  std::chrono::duration_cast<std::chrono::system_clock::duration>(now - ctx.startedAt);
    record.requestId = ctx.requestId;
    if (ctx.principal) {
        record.tenant = ctx.principal->tenant;
        record.keyId = ctx.principal->keyId;
    }
    record.clientAddress = ctx.clientAddress;
    record.route = std::string(ctx.route.name);  // a stable name ("/api/chat", "unknown"), never the raw path
    // Model names are indexed by the database sinks (bounded entries): a
    // backend's name for its model is cut as the front cuts a client's.
    record.requestedModel = ctx.model;
    cutUtf8(record.requestedModel, kMaxModelNameBytes);
    record.servedBackend = ctx.servedBackend;
    record.servedModel = ctx.servedModel;
    cutUtf8(record.servedModel, kMaxModelNameBytes);
    record.alias = ctx.plan.alias;
    record.status = ctx.status;
    record.failovers = ctx.failovers;
    record.retries = ctx.retries;
    record.continuedBy = ctx.continuedBy;
    record.queueMs = ctx.queueMs;
    record.tokensIn = ctx.usage.promptTokens;
    record.tokensOut = ctx.usage.completionTokens;
    record.tokensEstimated = ctx.usage.estimated;
    record.timeToFirstByteMs = ctx.firstByteAt ? millisBetween(ctx.startedAt, *ctx.firstByteAt) : 0;
    record.latencyMs = millisBetween(ctx.startedAt, now);
    record.bytesIn = ctx.bytesIn;
    record.bytesOut = ctx.bytesOut;
    record.outcome = ctx.outcome;
    if (ctx.principal && ctx.principal->logPrompts) {
        record.promptLogged = true;
        record.prompt = promptOf(ctx.body);
        cutUtf8(record.prompt, maxPromptBytes);
        entry.capturedAnswer = std::move(capturedAnswer);
    }
    return entry;
}

} // namespace sluice::kernel
