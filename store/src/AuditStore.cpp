#include "sluice/store/AuditStore.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Statement.h>
#include <sqlite3.h>

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
    " tokens_estimated, retries, continued_by, queue_ms";

long long number(RecordSet& rows, std::size_t column) {
    const auto& value = rows.value(column);
    return value.isEmpty() ? 0LL : value.convert<long long>();
}
std::string text(RecordSet& rows, std::size_t column) {
    const auto& value = rows.value(column);
    return value.isEmpty() ? std::string() : value.convert<std::string>();
}

// One INSERT prepared once per batch and run for each row through SQLite's
// own API. Why not Poco's binding, as PostgreSQL has: it copied every value
// into a column vector and then spent two thirds as much again as SQLite's insert
// itself on binder objects, a virtual call a column a row; the audit writer
// paid that for every request. Values are bound without a copy
// (SQLITE_STATIC): the row outlives its step.
class SqliteInsert {
public:
    SqliteInsert(sqlite3* db, const std::string& sql) : _db(db) {
        check(sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &_statement, nullptr));
    }
    ~SqliteInsert() { sqlite3_finalize(_statement); }
    SqliteInsert(const SqliteInsert&) = delete;
    SqliteInsert& operator=(const SqliteInsert&) = delete;

    SqliteInsert& text(const std::string& value) {
        check(sqlite3_bind_text(_statement, ++_column, value.data(), static_cast<int>(value.size()), SQLITE_STATIC));
        return *this;
    }
    SqliteInsert& number(long long value) {
        check(sqlite3_bind_int64(_statement, ++_column, value));
        return *this;
    }
    void run() {
        const int rc = sqlite3_step(_statement);
        sqlite3_reset(_statement);
        _column = 0;
        if (rc != SQLITE_DONE) check(rc);
    }

private:
    // Poco's exception for the code, as a Poco statement would have thrown it.
    void check(int rc) const {
        if (rc != SQLITE_OK) Poco::Data::SQLite::Utility::throwException(_db, rc);
    }

    sqlite3* _db;
    sqlite3_stmt* _statement = nullptr;
    int _column = 0;
};

// SQLite's inserts, one row each: a row already there (a replayed spill)
// stays as it is. PostgreSQL's say the same with ON CONFLICT DO NOTHING.
const std::string kSqliteInsertRecord = std::string("INSERT OR IGNORE INTO audit_records (") + kRecordColumns +
                                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const std::string kSqliteInsertPrompt =
    "INSERT OR IGNORE INTO audit_prompts (request_id, at_ms, tenant, prompt, answer) VALUES (?, ?, ?, ?, ?)";

// Text as PostgreSQL's text type takes it: no NUL byte and valid UTF-8,
// or it refuses the whole statement (and the audit writer would retry that
// batch for ever). A request may carry either ("model": "a\u0000b", bytes
// a backend sent); each offending byte becomes U+FFFD. SQLite keeps bytes as
// they are.
std::string pgText(const std::string& text) {
    auto continuation = [&](std::size_t at) { return at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80; };
    // The length of the valid sequence starting at `at`, or 0.
    auto sequence = [&](std::size_t at) -> std::size_t {
        const auto lead = static_cast<unsigned char>(text[at]);
        if (lead == 0) return 0;
        if (lead < 0x80) return 1;
        const auto second = at + 1 < text.size() ? static_cast<unsigned char>(text[at + 1]) : 0;
        if (lead >= 0xC2 && lead <= 0xDF) return continuation(at + 1) ? 2 : 0;
        if (lead >= 0xE0 && lead <= 0xEF) {
            if ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second > 0x9F)) return 0;  // overlong, surrogate
            return continuation(at + 1) && continuation(at + 2) ? 3 : 0;
        }
        if (lead >= 0xF0 && lead <= 0xF4) {
            if ((lead == 0xF0 && second < 0x90) || (lead == 0xF4 && second > 0x8F)) return 0;  // overlong, past U+10FFFF
            return continuation(at + 1) && continuation(at + 2) && continuation(at + 3) ? 4 : 0;
        }
        return 0;
    };
    std::size_t at = 0;
    while (at < text.size()) {
        const auto length = sequence(at);
        if (length == 0) break;
        at += length;
    }
    if (at == text.size()) return text;  // the usual case: nothing to replace
    std::string out = text.substr(0, at);
    while (at < text.size()) {
        const auto length = sequence(at);
        if (length == 0) {
            out += "\xEF\xBF\xBD";
            ++at;
        } else {
            out.append(text, at, length);
            at += length;
        }
    }
    return out;
}

constexpr std::size_t kRecordColumnCount = 23;  // kRecordColumns
// Rows a PostgreSQL INSERT carries. Describing a statement answers 4 bytes
// a placeholder, and libpq takes a longer description than 30,000 bytes for
// a lost connection ("lost synchronization with server", seen at 500 rows):
// 250 rows of 23 are 23,000 bytes.
constexpr std::size_t kRowsPerInsert = 250;

// "(?, ?), (?, ?)" for 2 rows of 2 columns.
std::string placeholderRows(std::size_t rows, std::size_t columns) {
    std::string row = "(";
    for (std::size_t i = 0; i < columns; ++i) row += i == 0 ? "?" : ", ?";
    row += ")";
    std::string out;
    for (std::size_t i = 0; i < rows; ++i) out += (i == 0 ? "" : ", ") + row;
    return out;
}

// A batch of rows as the columns the insert statements bind.
struct Columns {
    std::vector<std::string> requestId, tenant, keyId, clientAddress, route, requestedModel, servedBackend,
        servedModel, alias, outcome, continuedBy;
    std::vector<Poco::Int64> at, promptTokens, completionTokens, firstByte, latency, bytesIn, bytesOut, queueMs;
    std::vector<int> status, failovers, estimated, retries;
    struct Prompts {
        std::vector<std::string> requestId, tenant, prompt, answer;
        std::vector<Poco::Int64> at;
    } prompts;

    void add(const AuditRow& r) {
        requestId.push_back(pgText(r.requestId));
        at.push_back(r.atMs);
        tenant.push_back(pgText(r.tenant));
        keyId.push_back(pgText(r.keyId));
        clientAddress.push_back(pgText(r.clientAddress));
        route.push_back(pgText(r.route));
        requestedModel.push_back(pgText(r.requestedModel));
        servedBackend.push_back(pgText(r.servedBackend));
        servedModel.push_back(pgText(r.servedModel));
        alias.push_back(pgText(r.alias));
        status.push_back(r.status);
        failovers.push_back(r.failovers);
        promptTokens.push_back(r.promptTokens);
        completionTokens.push_back(r.completionTokens);
        firstByte.push_back(r.firstByteMs);
        latency.push_back(r.latencyMs);
        bytesIn.push_back(r.bytesIn);
        bytesOut.push_back(r.bytesOut);
        outcome.push_back(pgText(r.outcome));
        estimated.push_back(r.tokensEstimated ? 1 : 0);
        retries.push_back(r.retries);
        continuedBy.push_back(pgText(r.continuedBy));
        queueMs.push_back(r.queueMs);
        if (!r.promptLogged) return;
        prompts.requestId.push_back(pgText(r.requestId));
        prompts.at.push_back(r.atMs);
        prompts.tenant.push_back(pgText(r.tenant));
        prompts.prompt.push_back(pgText(r.prompt));
        prompts.answer.push_back(pgText(r.answer));
    }
};

} // namespace

void AuditStore::write(const std::vector<AuditRow>& rows) {
    if (rows.empty()) return;
    if (_db.engine() == Engine::SQLite) return writeSqlite(rows);
    // PostgreSQL: one INSERT of many rows per chunk, each statement run
    // once. Not one statement run once per row (Poco binding a vector, an
    // element a run), as before: Poco 1.11's PostgreSQL statement frees its
    // last result when it runs again, and frees it a second time when it is
    // destroyed after a run that failed. A batch cut off mid-way by its
    // server (a row written, the next refused) crashed the gateway with a
    // double free (seen in AuditOutageTest, core dump in Poco's
    // StatementExecutor destructor). Run once, a statement holds no earlier
    // result; and a chunk is one round trip instead of one a row.
    // The binders keep pointers to the values until the statement runs, so
    // every value lives in a vector here.
    Columns c;
    for (const auto& row : rows) c.add(row);
    _db.guarded("cannot write audit records", [&] {
        _db.transaction([&](Session& session) {
            for (std::size_t first = 0; first < c.requestId.size(); first += kRowsPerInsert) {
                const auto end = std::min(c.requestId.size(), first + kRowsPerInsert);
                Statement records(session);
                records << _db.sql(std::string("INSERT INTO audit_records (") + kRecordColumns + ") VALUES " +
                                   placeholderRows(end - first, kRecordColumnCount) + " ON CONFLICT (request_id) DO NOTHING");
                for (auto i = first; i < end; ++i)
                    records, use(c.requestId[i]), use(c.at[i]), use(c.tenant[i]), use(c.keyId[i]), use(c.clientAddress[i]),
                        use(c.route[i]), use(c.requestedModel[i]), use(c.servedBackend[i]), use(c.servedModel[i]),
                        use(c.alias[i]), use(c.status[i]), use(c.failovers[i]), use(c.promptTokens[i]),
                        use(c.completionTokens[i]), use(c.firstByte[i]), use(c.latency[i]), use(c.bytesIn[i]),
                        use(c.bytesOut[i]), use(c.outcome[i]), use(c.estimated[i]), use(c.retries[i]), use(c.continuedBy[i]),
                        use(c.queueMs[i]);
                records.execute();
            }
            auto& p = c.prompts;
            for (std::size_t first = 0; first < p.requestId.size(); first += kRowsPerInsert) {
                const auto end = std::min(p.requestId.size(), first + kRowsPerInsert);
                Statement prompts(session);
                prompts << _db.sql("INSERT INTO audit_prompts (request_id, at_ms, tenant, prompt, answer) VALUES " +
                                   placeholderRows(end - first, 5) + " ON CONFLICT (request_id) DO NOTHING");
                for (auto i = first; i < end; ++i) prompts, use(p.requestId[i]), use(p.at[i]), use(p.tenant[i]), use(p.prompt[i]), use(p.answer[i]);
                prompts.execute();
            }
        });
        return 0;
    });
}

void AuditStore::writeSqlite(const std::vector<AuditRow>& rows) {
    _db.guarded("cannot write audit records", [&] {
        _db.transaction([&](Session& session) {
            sqlite3* const db = Poco::Data::SQLite::Utility::dbHandle(session);
            SqliteInsert records(db, kSqliteInsertRecord);
            for (const auto& r : rows) {
                records.text(r.requestId).number(r.atMs).text(r.tenant).text(r.keyId).text(r.clientAddress);
                records.text(r.route).text(r.requestedModel).text(r.servedBackend).text(r.servedModel).text(r.alias);
                records.number(r.status).number(r.failovers).number(r.promptTokens).number(r.completionTokens);
                records.number(r.firstByteMs).number(r.latencyMs).number(r.bytesIn).number(r.bytesOut);
                records.text(r.outcome).number(r.tokensEstimated ? 1 : 0).number(r.retries).text(r.continuedBy);
                records.number(r.queueMs);
                records.run();
            }
            if (std::none_of(rows.begin(), rows.end(), [](const AuditRow& r) { return r.promptLogged; })) return;
            SqliteInsert prompts(db, kSqliteInsertPrompt);
            for (const auto& r : rows) {
                if (!r.promptLogged) continue;
                prompts.text(r.requestId).number(r.atMs).text(r.tenant).text(r.prompt).text(r.answer);
                prompts.run();
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

namespace {
// The tenant, key and model a read narrows to: its SQL, and the values that
// SQL binds, in order. The values live here until the statement has run.
class RecordFilter {
public:
    RecordFilter(const std::optional<std::string>& tenant, const std::optional<std::string>& keyId,
                 const std::optional<std::string>& model) {
        add(tenant, " AND tenant = ?");
        add(keyId, " AND key_id = ?");
        add(model, " AND COALESCE(NULLIF(served_model, ''), requested_model) = ?");
    }
    const std::string& sql() const { return _sql; }
    void bind(Statement& select) {
        for (auto& value : _values) select, use(value);
    }

private:
    void add(const std::optional<std::string>& value, const char* clause) {
        if (!value) return;
        _values.push_back(*value);
        _sql += clause;
    }
    std::vector<std::string> _values;
    std::string _sql;
};
} // namespace

std::vector<AuditRow> AuditStore::tail(const AuditQuery& query) {
    return _db.guarded("cannot read audit records", [&] {
        auto session = _db.session();
        Poco::Int64 since = query.sinceMs;
        Poco::Int64 limit = static_cast<Poco::Int64>(query.limit);
        RecordFilter filter(query.tenant, query.keyId, query.model);
        int status = query.status.value_or(0);
        Poco::Int64 classLow = query.statusClass.value_or(0) * 100, classHigh = classLow + 100;
        Statement select(session);
        select << _db.sql(std::string("SELECT ") + kRecordColumns + " FROM audit_records WHERE at_ms >= CAST(? AS BIGINT)" +
                          filter.sql() + (query.status ? " AND status = ?" : "") +
                          (query.statusClass ? " AND status >= CAST(? AS BIGINT) AND status < CAST(? AS BIGINT)" : "") +
                          " ORDER BY at_ms DESC, request_id DESC LIMIT CAST(? AS BIGINT)"),
            use(since);
        filter.bind(select);
        if (query.status) select, use(status);
        if (query.statusClass) select, use(classLow), use(classHigh);
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
            row.queueMs = number(rows, 22);
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

std::vector<UsagePoint> AuditStore::usageSeries(const UsageSeriesQuery& query) {
    if (query.stepMs <= 0 || query.toMs <= query.fromMs) throw std::invalid_argument("usage: an empty range or step");
    // Column names from this switch only, never from the caller.
    const char* const series = query.by == UsageBy::Tenant ? "tenant"
                               : query.by == UsageBy::Key  ? "key_id"
                                                           : "COALESCE(NULLIF(served_model, ''), requested_model)";
    return _db.guarded("cannot read usage", [&] {
        auto session = _db.session();
        Poco::Int64 step = query.stepMs, from = query.fromMs, to = query.toMs;
        RecordFilter filter(query.tenant, query.keyId, query.model);
        Statement select(session);
        // Integer division of BIGINTs truncates on both engines; at_ms is never negative.
        select << _db.sql(std::string("SELECT CAST((at_ms / CAST(? AS BIGINT)) * CAST(? AS BIGINT) AS BIGINT) AS bucket, ") + series +
                          " AS series, CAST(COUNT(*) AS BIGINT), CAST(SUM(prompt_tokens) AS BIGINT),"
                          " CAST(SUM(completion_tokens) AS BIGINT)"
                          " FROM audit_records WHERE at_ms >= CAST(? AS BIGINT) AND at_ms < CAST(? AS BIGINT)"
                          // Usage is a tenant's: refused callers (no tenant) name whatever model they like.
                          " AND tenant <> ''" + filter.sql() +
                          " GROUP BY 1, 2 ORDER BY 1, 2"),
            use(step), use(step), use(from), use(to);
        filter.bind(select);
        select.execute();
        RecordSet rows(select);
        std::vector<UsagePoint> out;
        for (bool more = rows.moveFirst(); more; more = rows.moveNext())
            out.push_back({text(rows, 1), number(rows, 0), number(rows, 2), number(rows, 3), number(rows, 4)});
        return out;
    });
}

} // namespace sluice::store
