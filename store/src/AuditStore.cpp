#include "sluice/store/AuditStore.h"

#include <algorithm>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include "sluice/store/StoreError.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace sluice::store {

namespace {

constexpr long long kDayMs = 86'400'000LL;

const char* const kRecordColumns =
    "request_id, at_ms, tenant, key_id, client_address, route, requested_model, served_backend, served_model, alias,"
    " status, failovers, prompt_tokens, completion_tokens, first_byte_ms, latency_ms, bytes_in, bytes_out, outcome,"
    " tokens_estimated, retries, continued_by";

long long number(RecordSet& rows, std::size_t column) {
    const auto& value = rows.value(column);
    return value.isEmpty() ? 0LL : value.convert<long long>();
}
std::string text(RecordSet& rows, std::size_t column) {
    const auto& value = rows.value(column);
    return value.isEmpty() ? std::string() : value.convert<std::string>();
}

} // namespace

void AuditStore::write(const std::vector<AuditRow>& rows) {
    if (rows.empty()) return;
    const bool sqlite = _db.engine() == Engine::SQLite;
    const std::string insertRecord =
        _db.sql(std::string(sqlite ? "INSERT OR IGNORE" : "INSERT") + " INTO audit_records (" + kRecordColumns +
                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" +
                (sqlite ? "" : " ON CONFLICT (request_id) DO NOTHING"));
    const std::string insertPrompt =
        _db.sql(std::string(sqlite ? "INSERT OR IGNORE" : "INSERT") +
                " INTO audit_prompts (request_id, at_ms, tenant, prompt, answer) VALUES (?, ?, ?, ?, ?)" +
                (sqlite ? "" : " ON CONFLICT (request_id) DO NOTHING"));
    _db.guarded("cannot write audit records", [&] {
        _db.transaction([&](Session& session) {
            for (const auto& row : rows) {
                auto r = row;  // Poco binds references to mutable values
                Poco::Int64 at = r.atMs, promptTokens = r.promptTokens, completionTokens = r.completionTokens;
                Poco::Int64 firstByte = r.firstByteMs, latency = r.latencyMs, bytesIn = r.bytesIn, bytesOut = r.bytesOut;
                int estimated = r.tokensEstimated ? 1 : 0;
                session << insertRecord, use(r.requestId), use(at), use(r.tenant), use(r.keyId), use(r.clientAddress),
                    use(r.route), use(r.requestedModel), use(r.servedBackend), use(r.servedModel), use(r.alias),
                    use(r.status), use(r.failovers), use(promptTokens), use(completionTokens), use(firstByte),
                    use(latency), use(bytesIn), use(bytesOut), use(r.outcome), use(estimated), use(r.retries),
                    use(r.continuedBy), now;
                if (r.promptLogged)
                    session << insertPrompt, use(r.requestId), use(at), use(r.tenant), use(r.prompt), use(r.answer), now;
            }
        });
        return 0;
    });
}

std::size_t AuditStore::purgeTable(const std::string& table, const std::string& tenantColumn, int defaultDays,
                                   long long nowMs, const RetentionPolicy& policy, bool& more) {
    auto session = _db.session();
    // The shortest retention any row can have bounds the scan through the
    // time index; the per-row CASE then applies the tenant's own.
    Poco::Int64 shortest = defaultDays;
    {
        Statement select(session);
        select << _db.sql("SELECT MIN(" + tenantColumn + ") FROM tenants WHERE " + tenantColumn + " > 0"), now;
        RecordSet rows(select);
        if (rows.moveFirst() && !rows.value(0).isEmpty())
            shortest = std::min<Poco::Int64>(shortest, rows.value(0).convert<Poco::Int64>());
    }
    Poco::Int64 bound = nowMs - shortest * kDayMs;
    Poco::Int64 nowValue = nowMs;
    Poco::Int64 days = defaultDays;
    Poco::Int64 batch = static_cast<Poco::Int64>(policy.batch);
    const auto sql = _db.sql("DELETE FROM " + table + " WHERE request_id IN (SELECT r.request_id FROM " + table +
                             " r LEFT JOIN tenants t ON t.name = r.tenant"
                             " WHERE r.at_ms < CAST(? AS BIGINT)"
                             " AND r.at_ms < CAST(? AS BIGINT) - (CASE WHEN t." + tenantColumn + " > 0 THEN t." +
                             tenantColumn + " ELSE CAST(? AS BIGINT) END) * " + std::to_string(kDayMs) +
                             " LIMIT CAST(? AS BIGINT))");
    std::size_t deleted = 0;
    for (std::size_t statement = 0; statement < policy.maxStatements; ++statement) {
        Statement remove(session);
        remove << sql, use(bound), use(nowValue), use(days), use(batch);
        const auto n = remove.execute();
        deleted += n;
        if (n < policy.batch) return deleted;
    }
    more = true;
    return deleted;
}

PurgeResult AuditStore::purge(long long nowMs, const RetentionPolicy& policy) {
    return _db.guarded("cannot purge audit records", [&] {
        PurgeResult result;
        result.records = purgeTable("audit_records", "audit_retention_days", policy.auditDays, nowMs, policy, result.more);
        result.prompts = purgeTable("audit_prompts", "prompt_retention_days", policy.promptDays, nowMs, policy, result.more);
        return result;
    });
}

std::vector<AuditRow> AuditStore::tail(const AuditQuery& query) {
    return _db.guarded("cannot read audit records", [&] {
        auto session = _db.session();
        Poco::Int64 since = query.sinceMs;
        Poco::Int64 limit = static_cast<Poco::Int64>(query.limit);
        std::string tenant = query.tenant.value_or("");
        Statement select(session);
        select << _db.sql(std::string("SELECT ") + kRecordColumns + " FROM audit_records WHERE at_ms >= CAST(? AS BIGINT)" +
                          (query.tenant ? " AND tenant = ?" : "") +
                          " ORDER BY at_ms DESC, request_id DESC LIMIT CAST(? AS BIGINT)"),
            use(since);
        if (query.tenant) select, use(tenant);
        select, use(limit);
        select.execute();
        RecordSet rows(select);
        std::vector<AuditRow> out;
        for (bool more = rows.moveFirst(); more; more = rows.moveNext()) {
            AuditRow row;
            row.requestId = text(rows, 0);
            row.atMs = number(rows, 1);
            row.tenant = text(rows, 2);
            row.keyId = text(rows, 3);
            row.clientAddress = text(rows, 4);
            row.route = text(rows, 5);
            row.requestedModel = text(rows, 6);
            row.servedBackend = text(rows, 7);
            row.servedModel = text(rows, 8);
            row.alias = text(rows, 9);
            row.status = static_cast<int>(number(rows, 10));
            row.failovers = static_cast<int>(number(rows, 11));
            row.promptTokens = number(rows, 12);
            row.completionTokens = number(rows, 13);
            row.firstByteMs = number(rows, 14);
            row.latencyMs = number(rows, 15);
            row.bytesIn = number(rows, 16);
            row.bytesOut = number(rows, 17);
            row.outcome = text(rows, 18);
            row.tokensEstimated = number(rows, 19) != 0;
            row.retries = static_cast<int>(number(rows, 20));
            row.continuedBy = text(rows, 21);
            out.push_back(std::move(row));
        }
        std::reverse(out.begin(), out.end());
        return out;
    });
}

std::vector<UsageRow> AuditStore::usage(const std::optional<std::string>& tenant, long long sinceMs) {
    return _db.guarded("cannot read usage", [&] {
        auto session = _db.session();
        Poco::Int64 since = sinceMs;
        std::string name = tenant.value_or("");
        Statement select(session);
        select << _db.sql(std::string("SELECT tenant, COALESCE(NULLIF(served_model, ''), requested_model) AS model,"
                                      " CAST(COUNT(*) AS BIGINT), CAST(SUM(prompt_tokens) AS BIGINT),"
                                      " CAST(SUM(completion_tokens) AS BIGINT)"
                                      " FROM audit_records WHERE at_ms >= CAST(? AS BIGINT)") +
                          (tenant ? " AND tenant = ?" : "") +
                          " GROUP BY tenant, COALESCE(NULLIF(served_model, ''), requested_model) ORDER BY 1, 2"),
            use(since);
        if (tenant) select, use(name);
        select.execute();
        RecordSet rows(select);
        std::vector<UsageRow> out;
        for (bool more = rows.moveFirst(); more; more = rows.moveNext())
            out.push_back({text(rows, 0), text(rows, 1), number(rows, 2), number(rows, 3), number(rows, 4)});
        return out;
    });
}

} // namespace sluice::store
