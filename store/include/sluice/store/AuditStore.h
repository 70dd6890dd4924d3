#pragma once
// The audit trail in the store: writing batches of finished-request rows
// (idempotent by request id), purging what is past retention, and reading
// it back for `sluicectl audit tail` and `sluicectl usage`. The audit sinks
// and sluicectl share this code, so both agree on what a row means.
// Thread: like Database; an AuditStore holds no state of its own.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/store/Database.h"

namespace sluice::store {

// One row of audit_records, with the prompt text when it was logged.
struct AuditRow {
    std::string requestId;
    long long atMs = 0;  // milliseconds since the epoch
    std::string tenant;
    std::string keyId;
    std::string clientAddress;
    std::string route;
    std::string requestedModel;
    std::string servedBackend;
    std::string servedModel;
    std::string alias;
    int status = 0;
    int failovers = 0;
    long long promptTokens = 0;
    long long completionTokens = 0;
    long long firstByteMs = 0;
    long long latencyMs = 0;
    long long bytesIn = 0;
    long long bytesOut = 0;
    std::string outcome;
    bool tokensEstimated = false;  // prompt and completion tokens counted from the text, not reported
    int retries = 0;               // attempts tried again on the same candidate
    std::string continuedBy;       // who continued a broken stream: "backend/model", "" when none did
    long long queueMs = 0;         // waited in the queue for a backend slot
    // Stored in audit_prompts, apart, only when promptLogged.
    bool promptLogged = false;
    std::string prompt;
    std::string answer;
};

struct RetentionPolicy {
    int auditDays = 365;   // audit_records, unless the tenant's audit_retention_days > 0
    int promptDays = 30;   // audit_prompts, unless the tenant's prompt_retention_days > 0
    std::size_t batch = 1000;       // rows per DELETE statement
    std::size_t maxStatements = 10; // DELETE statements per table per purge() call
};

struct PurgeResult {
    std::size_t records = 0;
    std::size_t prompts = 0;
    bool more = false;  // stopped at maxStatements with rows still to go
};

struct AuditQuery {
    std::optional<std::string> tenant;
    std::optional<std::string> keyId;
    std::optional<std::string> model;  // the served model, else the requested one
    // An exact status (200) or a class (2 for 2xx, ... 5 for 5xx).
    std::optional<int> status;
    std::optional<int> statusClass;
    long long sinceMs = 0;
    std::size_t limit = 100;
};

// Requests and tokens in time buckets, one series per tenant, key or model.
enum class UsageBy { Tenant, Key, Model };
struct UsageSeriesQuery {
    UsageBy by = UsageBy::Tenant;
    long long fromMs = 0;  // inclusive
    long long toMs = 0;    // exclusive
    long long stepMs = 60000;
    std::optional<std::string> tenant;
    std::optional<std::string> keyId;
    std::optional<std::string> model;
};
struct UsagePoint {
    std::string series;  // the tenant, key id or model
    long long bucketMs = 0;  // the bucket's start
    long long requests = 0;
    long long promptTokens = 0;
    long long completionTokens = 0;
};

struct UsageRow {
    std::string tenant;
    std::string model;  // the served model, else the requested one
    long long requests = 0;
    long long promptTokens = 0;
    long long completionTokens = 0;
};

class AuditStore {
public:
    explicit AuditStore(Database& db) : _db(db) {}

    // One transaction: every row once (rows already stored are left as they
    // are), and audit_prompts rows for those with promptLogged. Throws
    // StoreError (or Poco::Exception) and writes nothing on failure.
    void write(const std::vector<AuditRow>& rows);

    // Deletes rows older than their retention at `nowMs`, a batch per statement.
    PurgeResult purge(long long nowMs, const RetentionPolicy& policy);

    // The newest `limit` rows at or after sinceMs, oldest first (no prompt text).
    std::vector<AuditRow> tail(const AuditQuery& query);
    // Requests and tokens per tenant and model since sinceMs, by tenant then model.
    std::vector<UsageRow> usage(const std::optional<std::string>& tenant, long long sinceMs);
    // Buckets with at least one request of a known tenant (an
    // unauthenticated one counts for nobody), by bucket then series. The
    // range is read through the covering time index.
    std::vector<UsagePoint> usageSeries(const UsageSeriesQuery& query);

private:
    // SQLite's rows go through its own API (why: AuditStore.cpp, SqliteInsert).
    void writeSqlite(const std::vector<AuditRow>& rows);
    std::size_t purgeTable(const std::string& table, const std::string& tenantColumn, int defaultDays,
                           long long nowMs, const RetentionPolicy& policy, bool& more);

    Database& _db;
};

} // namespace sluice::store
