#include "AuditRows.h"

#include <cmath>

#include "sluice/AuditJson.h"

namespace sluice::audit {

namespace {
long long wholeMs(double ms) { return ms <= 0 ? 0 : std::llround(ms); }
long long clamp(std::uint64_t n) { return n > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<long long>(n); }
std::uint64_t count(long long n) { return n < 0 ? 0 : static_cast<std::uint64_t>(n); }

// The fields a record and a row share by name and type, copied either way:
// one list, so a field added to both structs is added here once.
template <typename From, typename To>
void copySharedFields(const From& from, To& to) {
    to.requestId = from.requestId;
    to.tenant = from.tenant;
    to.keyId = from.keyId;
    to.clientAddress = from.clientAddress;
    to.route = from.route;
    to.requestedModel = from.requestedModel;
    to.servedBackend = from.servedBackend;
    to.servedModel = from.servedModel;
    to.alias = from.alias;
    to.status = from.status;
    to.failovers = from.failovers;
    to.tokensEstimated = from.tokensEstimated;
    to.retries = from.retries;
    to.continuedBy = from.continuedBy;
    to.queueMs = from.queueMs;
}
} // namespace

store::AuditRow toRow(const AuditRecord& record) {
    store::AuditRow row;
    copySharedFields(record, row);
    row.atMs = epochMillis(record.time);
    row.promptTokens = clamp(record.tokensIn);
    row.completionTokens = clamp(record.tokensOut);
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
    copySharedFields(row, record);
    record.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(row.atMs));
    record.tokensIn = count(row.promptTokens);
    record.tokensOut = count(row.completionTokens);
    record.timeToFirstByteMs = static_cast<double>(row.firstByteMs);
    record.latencyMs = static_cast<double>(row.latencyMs);
    record.bytesIn = count(row.bytesIn);
    record.bytesOut = count(row.bytesOut);
    // Rows are written by toRow, so their outcome is always a name this build knows.
    record.outcome = outcomeFromName(row.outcome).value_or(Outcome::InternalError);
    return record;
}

} // namespace sluice::audit
