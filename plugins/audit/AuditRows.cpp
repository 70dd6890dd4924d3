#include "AuditRows.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace sluice::audit {

namespace {
long long wholeMs(double ms) { return ms <= 0 ? 0 : std::llround(ms); }
long long clamp(std::uint64_t n) { return n > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<long long>(n); }
} // namespace

long long epochMillis(std::chrono::system_clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::string isoTime(long long epochMs) {
    const std::time_t seconds = static_cast<std::time_t>(epochMs / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[96];  // room for any int the compiler imagines
    std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(epochMs % 1000));
    return buffer;
}

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

nlohmann::ordered_json recordJson(const store::AuditRow& row) {
    return {{"time", isoTime(row.atMs)},
            {"at_ms", row.atMs},
            {"request_id", row.requestId},
            {"tenant", row.tenant},
            {"key_id", row.keyId},
            {"client_address", row.clientAddress},
            {"route", row.route},
            {"requested_model", row.requestedModel},
            {"served_backend", row.servedBackend},
            {"served_model", row.servedModel},
            {"alias", row.alias},
            {"status", row.status},
            {"failovers", row.failovers},
            {"prompt_tokens", row.promptTokens},
            {"completion_tokens", row.completionTokens},
            {"first_byte_ms", row.firstByteMs},
            {"latency_ms", row.latencyMs},
            {"bytes_in", row.bytesIn},
            {"bytes_out", row.bytesOut},
            {"outcome", row.outcome}};
}

nlohmann::ordered_json promptJson(const store::AuditRow& row) {
    return {{"time", isoTime(row.atMs)}, {"at_ms", row.atMs},       {"request_id", row.requestId},
            {"tenant", row.tenant},      {"prompt", row.prompt},     {"answer", row.answer}};
}

} // namespace sluice::audit
