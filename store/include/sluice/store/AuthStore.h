#pragma once
// Tenants and their API keys as the store keeps them: state, expiry, model
// grants and limit overrides. Every change to an existing tenant or key is
// also written to the auth change log (and, on PostgreSQL, NOTIFYed on
// `sluice_auth`) in the same transaction, so running instances learn to drop
// what they cached. Creations are not: nothing can have cached them.
// Thread: safe from any thread; each call takes its own pooled session.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/store/Database.h"

namespace sluice::store {

// Limits for one tenant or key; empty: the configured default applies.
// The queue's priority class and weight (docs/capacity.md) ride along: a
// key's override its tenant's, as the limits do.
struct LimitOverrides {
    std::optional<std::int64_t> requestsPerMinute;
    std::optional<std::int64_t> tokensPerMinute;
    std::optional<std::int64_t> concurrentRequests;
    std::optional<std::string> queuePriority;  // "interactive" or "batch"
    std::optional<std::int64_t> queueWeight;   // 1 to 1000
};

// Which models a tenant or key may use: every model, or the listed names
// (model names or aliases).
struct ModelGrant {
    bool allowAll = false;
    std::vector<std::string> models;
};

struct TenantRecord {
    std::string name;
    bool enabled = true;
    long long expiresAt = 0;  // seconds since the epoch; 0: never
    ModelGrant grant;         // a new tenant may use no model until granted
    LimitOverrides limits;
    bool logPrompts = false;
    // Days the audit sinks keep this tenant's records and prompt text; 0: the
    // gateway's audit.retention_days / audit.prompt_retention_days.
    int auditRetentionDays = 0;
    int promptRetentionDays = 0;
    bool admin = false;  // its keys may open the operator console
    long long createdAt = 0;
    long long updatedAt = 0;
};

enum class KeyState { Active, Disabled, Revoked, Expired };
const char* keyStateName(KeyState state);

struct KeyRecord {
    std::string keyId;       // public: printed, logged, audited
    std::string tenant;
    std::string secretHash;  // argon2id encoded hash; never printed
    bool enabled = true;
    long long revokedAt = 0;  // 0: not revoked
    long long expiresAt = 0;  // 0: never
    ModelGrant grant{true, {}};  // by default a key narrows nothing of its tenant's grant
    LimitOverrides limits;
    bool admin = false;  // may open the operator console (so may every key of an admin tenant)
    long long createdAt = 0;
    long long lastUsedAt = 0;  // 0: never used

    // Revoked before disabled before expired: the most permanent reason wins.
    KeyState state(long long now) const;
};

struct KeyAndTenant {
    KeyRecord key;
    TenantRecord tenant;
};

// One change an operator made, through the console or sluicectl.
struct AdminAction {
    long long atMs = 0;         // 0 when recording: now
    std::string via;            // "console" or "sluicectl"
    std::string actor;          // "key:ID" (console) or the OS user (sluicectl)
    std::string action;         // "key.create", "key.revoke", "tenant.disable", ...
    std::string subject;        // "key:ID" or "tenant:NAME"
    std::string clientAddress;  // the console's client; empty for sluicectl
};

enum class KeyFlag { Enabled, Admin };

struct AuthChange {
    long long seq = 0;
    std::string subject;  // "key:ID" or "tenant:NAME"
};

// Names of what changed, as the change log, NOTIFY and Redis carry them.
std::string keySubject(const std::string& keyId);
std::string tenantSubject(const std::string& tenant);

class AuthStore {
public:
    // PostgreSQL channel that carries change subjects.
    static constexpr const char* kNotifyChannel = "sluice_auth";

    explicit AuthStore(Database& db) : _db(db) {}

    // The key and its tenant, with grants and limits; nullopt if the id is unknown.
    std::optional<KeyAndTenant> findKey(const std::string& keyId);
    std::optional<TenantRecord> findTenant(const std::string& name);
    std::vector<TenantRecord> tenants();
    // Keys of one tenant, or of all when `tenant` is empty; oldest first.
    std::vector<KeyRecord> keys(const std::string& tenant = "");

    // Each change below writes `trail`, when given, to the operators' trail
    // in the same transaction: a change is never stored without its record.

    // Throws AlreadyExists, or std::invalid_argument for a bad name.
    void createTenant(const TenantRecord& tenant, const AdminAction* trail = nullptr);
    // Replaces the tenant's flags, expiry, grant and limits. Throws NotFound.
    void updateTenant(const TenantRecord& tenant, const AdminAction* trail = nullptr);
    // Throws NotFound if the tenant does not exist, AlreadyExists on an id clash.
    void createKey(const KeyRecord& key, const AdminAction* trail = nullptr);
    // Revoking is final. Throws NotFound for an unknown id; revoking twice is fine.
    void revokeKey(const std::string& keyId, const AdminAction* trail = nullptr);
    // Turns a key's enabled or admin flag on or off (announced as a change,
    // so caches drop it). Throws NotFound for an unknown id.
    void setKeyFlag(const std::string& keyId, KeyFlag which, bool on, const AdminAction* trail = nullptr);
    // Records a use; best effort (a failure is ignored by callers).
    void touchKey(const std::string& keyId, long long at);

    // The operators' trail, newest first.
    std::vector<AdminAction> adminActions(std::size_t limit = 100);

    // The change log: its newest sequence number, and what came after `seq`.
    long long latestChange();
    std::vector<AuthChange> changesSince(long long seq, int max = 1000);

    // Tenant names: letters, digits, '.', '_', '-'; 1 to 64 characters.
    static bool validTenantName(const std::string& name);
    // Model names and aliases: 1 to 200 printable ASCII characters, no spaces or commas.
    static bool validModelName(const std::string& name);

private:
    void saveTenant(const TenantRecord& tenant, bool create, const AdminAction* trail);
    void writeTrail(Poco::Data::Session& session, const AdminAction* trail);
    void recordChange(Poco::Data::Session& session, const std::string& subject);
    void writeGrantAndLimits(Poco::Data::Session& session, const std::string& kind, const std::string& subject,
                             const ModelGrant& grant, const LimitOverrides& limits);
    void readGrantAndLimits(Poco::Data::Session& session, const std::string& kind, const std::string& subject,
                            ModelGrant& grant, LimitOverrides& limits);

    Database& _db;
};

} // namespace sluice::store
