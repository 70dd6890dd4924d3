#include "AuditRows.h"

#include <cmath>

#include "sluice/AuditJson.h"

namespace sluice::audit {

namespace {
long long wholeMs(double ms) { return ms <= 0 ? 0 : std::llround(ms); }
long long clamp(std::uint64_t n) { return n > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<long long>(n); }
std::uint64_t count(long long n) { return n < 0 ? 0 : static_cast<std::uint64_t>(n); }
} // namespace

store::AuditRow toRow(const AuditRecord& record) {
    store::AuditRow row;
    row.requestId = record.requestId;
    row.atMs = epochMillis(record.time);
    row.tenant = record.tenant;
    row.keyId = record.keyId;
    row.clientAddress = record.clientAddress;
    row.route = record.route;
    row.requestedModel = record.requestedModel;
    row.servedBackend = record.servedBackend;
    row.servedModel = record.servedModel;
    row.alias = record.alias;
    row.status = record.status;
    row.failovers = record.failovers;
    row.promptTokens = clamp(record.tokensIn);
    row.completionTokens = clamp(record.tokensOut);
    row.tokensEstimated = record.tokensEstimated;
    row.firstByteMs = wholeMs(record.timeToFirstByteMs);
    row.latencyMs = wholeMs(record.latencyMs);
    row.bytesIn = clamp(record.bytesIn);
    row.bytesOut = clamp(record.bytesOut);
    row.outcome = outcomeName(record.outcome);
    row.promptLogged = record.promptLogged;
    if (record.promptLogged) {
        row.prompt = record.prompt;
        row.answer = record.answer;
    }
    return row;
}

AuditRecord fromRow(const store::AuditRow& row) {
    AuditRecord record;
    record.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(row.atMs));
    record.requestId = row.requestId;
    record.tenant = row.tenant;
    record.keyId = row.keyId;
    record.clientAddress = row.clientAddress;
    record.route = row.route;
    record.requestedModel = row.requestedModel;
    record.servedBackend = row.servedBackend;
    record.servedModel = row.servedModel;
    record.alias = row.alias;
    record.status = row.status;
    record.failovers = row.failovers;
    record.tokensIn = count(row.promptTokens);
    record.tokensOut = count(row.completionTokens);
    record.tokensEstimated = row.tokensEstimated;
    record.timeToFirstByteMs = static_cast<double>(row.firstByteMs);
    record.latencyMs = static_cast<double>(row.latencyMs);
    record.bytesIn = count(row.bytesIn);
    record.bytesOut = count(row.bytesOut);
    // Rows are written by toRow, so their outcome is always a name this build knows.
    record.outcome = outcomeFromName(row.outcome).value_or(Outcome::InternalError);
    return record;
}

} // namespace sluice::audit
