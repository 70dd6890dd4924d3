#include "sluice/store/AuthStore.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include "sluice/store/StoreError.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Session;
using Poco::Data::Statement;

namespace sluice::store {

namespace {

const char* const kTenantColumns =
    "name, enabled, expires_at, allow_all_models, log_prompts, created_at, updated_at, audit_retention_days,"
    " prompt_retention_days, admin";
const char* const kKeyColumns =
    "key_id, tenant, secret_hash, enabled, revoked_at, expires_at, allow_all_models, created_at, last_used_at, admin";

bool flag(RecordSet& rows, std::size_t column) { return rows.value(column).convert<int>() != 0; }
long long number(RecordSet& rows, std::size_t column) { return rows.value(column).convert<long long>(); }
std::string text(RecordSet& rows, std::size_t column) { return rows.value(column).convert<std::string>(); }

// Columns in kTenantColumns order, starting at `first`.
TenantRecord tenantFrom(RecordSet& rows, std::size_t first) {
    TenantRecord tenant;
    tenant.name = text(rows, first);
    tenant.enabled = flag(rows, first + 1);
    tenant.expiresAt = number(rows, first + 2);
    tenant.grant.allowAll = flag(rows, first + 3);
    tenant.logPrompts = flag(rows, first + 4);
    tenant.createdAt = number(rows, first + 5);
    tenant.updatedAt = number(rows, first + 6);
    tenant.auditRetentionDays = static_cast<int>(number(rows, first + 7));
    tenant.promptRetentionDays = static_cast<int>(number(rows, first + 8));
    tenant.admin = flag(rows, first + 9);
    return tenant;
}

KeyRecord keyFrom(RecordSet& rows) {
    KeyRecord key;
    key.keyId = text(rows, 0);
    key.tenant = text(rows, 1);
    key.secretHash = text(rows, 2);
    key.enabled = flag(rows, 3);
    key.revokedAt = number(rows, 4);
    key.expiresAt = number(rows, 5);
    key.grant.allowAll = flag(rows, 6);
    key.createdAt = number(rows, 7);
    key.lastUsedAt = number(rows, 8);
    key.admin = flag(rows, 9);
    return key;
}

} // namespace

const char* keyStateName(KeyState state) {
    switch (state) {
    case KeyState::Active: return "active";
    case KeyState::Disabled: return "disabled";
    case KeyState::Revoked: return "revoked";
    case KeyState::Expired: return "expired";
    }
    return "unknown";
}

KeyState KeyRecord::state(long long now) const {
    if (revokedAt != 0) return KeyState::Revoked;
    if (!enabled) return KeyState::Disabled;
    if (expiresAt != 0 && expiresAt <= now) return KeyState::Expired;
    return KeyState::Active;
}

std::string keySubject(const std::string& keyId) { return "key:" + keyId; }
std::string tenantSubject(const std::string& tenant) { return "tenant:" + tenant; }

bool AuthStore::validTenantName(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    return std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 || c == '.' || c == '_' || c == '-';
    });
}

bool AuthStore::validModelName(const std::string& name) {
    if (name.empty() || name.size() > 200) return false;
    return std::all_of(name.begin(), name.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f && c != ','; });
}

void AuthStore::readGrantAndLimits(Session& session, const std::string& kind, const std::string& subject,
                                   ModelGrant& grant, LimitOverrides& limits) {
    std::string k = kind;
    std::string s = subject;
    Statement grants(session);
    grants << _db.sql("SELECT model FROM model_grants WHERE subject_kind = ? AND subject = ? ORDER BY model"), use(k),
        use(s), now;
    RecordSet grantRows(grants);
    for (bool more = grantRows.moveFirst(); more; more = grantRows.moveNext()) grant.models.push_back(text(grantRows, 0));

    Statement overrides(session);
    overrides << _db.sql("SELECT limit_name, limit_value FROM limit_overrides WHERE subject_kind = ? AND subject = ?"),
        use(k), use(s), now;
    RecordSet limitRows(overrides);
    for (bool more = limitRows.moveFirst(); more; more = limitRows.moveNext()) {
        const auto name = text(limitRows, 0);
        const auto value = number(limitRows, 1);
        if (name == "rpm") limits.requestsPerMinute = value;
        if (name == "tpm") limits.tokensPerMinute = value;
        if (name == "concurrent") limits.concurrentRequests = value;
    }

    Statement shares(session);
    shares << _db.sql("SELECT priority, weight FROM queue_shares WHERE subject_kind = ? AND subject = ?"), use(k), use(s), now;
    RecordSet shareRows(shares);
    if (shareRows.moveFirst()) {
        if (const auto priority = text(shareRows, 0); !priority.empty()) limits.queuePriority = priority;
        if (const auto weight = number(shareRows, 1); weight > 0) limits.queueWeight = weight;
    }
}

void AuthStore::writeGrantAndLimits(Session& session, const std::string& kind, const std::string& subject,
                                    const ModelGrant& grant, const LimitOverrides& limits) {
    std::string k = kind;
    std::string s = subject;
    session << _db.sql("DELETE FROM model_grants WHERE subject_kind = ? AND subject = ?"), use(k), use(s), now;
    session << _db.sql("DELETE FROM limit_overrides WHERE subject_kind = ? AND subject = ?"), use(k), use(s), now;
    session << _db.sql("DELETE FROM queue_shares WHERE subject_kind = ? AND subject = ?"), use(k), use(s), now;
    if (!grant.allowAll) {
        auto models = grant.models;
        std::sort(models.begin(), models.end());
        models.erase(std::unique(models.begin(), models.end()), models.end());
        for (auto& model : models) {
            if (!validModelName(model)) throw std::invalid_argument("invalid model name '" + model + "'");
            session << _db.sql("INSERT INTO model_grants (subject_kind, subject, model) VALUES (?, ?, ?)"), use(k),
                use(s), use(model), now;
        }
    }
    const std::pair<const char*, std::optional<std::int64_t>> entries[] = {
        {"rpm", limits.requestsPerMinute}, {"tpm", limits.tokensPerMinute}, {"concurrent", limits.concurrentRequests}};
    for (const auto& [name, value] : entries) {
        if (!value) continue;
        std::string n = name;
        Poco::Int64 v = *value;
        session << _db.sql("INSERT INTO limit_overrides (subject_kind, subject, limit_name, limit_value) VALUES (?, ?, ?, ?)"),
            use(k), use(s), use(n), use(v), now;
    }
    if (limits.queuePriority || limits.queueWeight) {
        if (limits.queuePriority && *limits.queuePriority != "interactive" && *limits.queuePriority != "batch")
            throw std::invalid_argument("queue priority '" + *limits.queuePriority + "' is not interactive or batch");
        if (limits.queueWeight && (*limits.queueWeight < 1 || *limits.queueWeight > 1000))
            throw std::invalid_argument("queue weight must be 1 to 1000");
        std::string priority = limits.queuePriority.value_or("");  // '' and 0: not set here
        Poco::Int64 weight = limits.queueWeight.value_or(0);
        session << _db.sql("INSERT INTO queue_shares (subject_kind, subject, priority, weight) VALUES (?, ?, ?, ?)"), use(k),
            use(s), use(priority), use(weight), now;
    }
}

void AuthStore::recordChange(Session& session, const std::string& subject) {
    std::string s = subject;
    Poco::Int64 at = storeNow();
    session << _db.sql("INSERT INTO auth_changes (subject, changed_at) VALUES (?, ?)"), use(s), use(at), now;
    // Delivered to listeners when the transaction commits, not before.
    if (_db.engine() == Engine::PostgreSQL) {
        std::string channel = kNotifyChannel;
        session << _db.sql("SELECT pg_notify(?, ?)"), use(channel), use(s), now;
    }
}

std::optional<KeyAndTenant> AuthStore::findKey(const std::string& keyId) {
    return _db.guarded("cannot read a key", [&]() -> std::optional<KeyAndTenant> {
        auto session = _db.session();
        std::string id = keyId;
        Statement select(session);
        select << _db.sql(std::string("SELECT k.key_id, k.tenant, k.secret_hash, k.enabled, k.revoked_at, k.expires_at,"
                                      " k.allow_all_models, k.created_at, k.last_used_at, k.admin, t.") +
                          "name, t.enabled, t.expires_at, t.allow_all_models, t.log_prompts, t.created_at, t.updated_at,"
                          " t.audit_retention_days, t.prompt_retention_days, t.admin FROM api_keys k JOIN tenants t ON t.name = k.tenant WHERE k.key_id = ?"),
            use(id), now;
        RecordSet rows(select);
        if (!rows.moveFirst()) {
            // The same statements as for a known key, so an unknown id costs
            // what a known one does (auth answers both alike).
            ModelGrant grant;
            LimitOverrides limits;
            readGrantAndLimits(session, "key", keyId, grant, limits);
            readGrantAndLimits(session, "tenant", keyId, grant, limits);
            return std::nullopt;
        }
        KeyAndTenant found{keyFrom(rows), tenantFrom(rows, 10)};
        readGrantAndLimits(session, "key", found.key.keyId, found.key.grant, found.key.limits);
        readGrantAndLimits(session, "tenant", found.tenant.name, found.tenant.grant, found.tenant.limits);
        return found;
    });
}

std::optional<TenantRecord> AuthStore::findTenant(const std::string& name) {
    return _db.guarded("cannot read a tenant", [&]() -> std::optional<TenantRecord> {
        auto session = _db.session();
        std::string n = name;
        Statement select(session);
        select << _db.sql(std::string("SELECT ") + kTenantColumns + " FROM tenants WHERE name = ?"), use(n), now;
        RecordSet rows(select);
        if (!rows.moveFirst()) return std::nullopt;
        auto tenant = tenantFrom(rows, 0);
        readGrantAndLimits(session, "tenant", tenant.name, tenant.grant, tenant.limits);
        return tenant;
    });
}

std::vector<TenantRecord> AuthStore::tenants() {
    return _db.guarded("cannot list tenants", [&] {
        auto session = _db.session();
        Statement select(session);
        select << _db.sql(std::string("SELECT ") + kTenantColumns + " FROM tenants ORDER BY name"), now;
        RecordSet rows(select);
        std::vector<TenantRecord> out;
        for (bool more = rows.moveFirst(); more; more = rows.moveNext()) out.push_back(tenantFrom(rows, 0));
        for (auto& tenant : out) readGrantAndLimits(session, "tenant", tenant.name, tenant.grant, tenant.limits);
        return out;
    });
}

std::vector<KeyRecord> AuthStore::keys(const std::string& tenant) {
    return _db.guarded("cannot list keys", [&] {
        auto session = _db.session();
        std::string t = tenant;
        Statement select(session);
        if (tenant.empty()) {
            select << _db.sql(std::string("SELECT ") + kKeyColumns + " FROM api_keys ORDER BY created_at, key_id"), now;
        } else {
            select << _db.sql(std::string("SELECT ") + kKeyColumns +
                              " FROM api_keys WHERE tenant = ? ORDER BY created_at, key_id"),
                use(t), now;
        }
        RecordSet rows(select);
        std::vector<KeyRecord> out;
        for (bool more = rows.moveFirst(); more; more = rows.moveNext()) out.push_back(keyFrom(rows));
        for (auto& key : out) readGrantAndLimits(session, "key", key.keyId, key.grant, key.limits);
        return out;
    });
}

void AuthStore::createTenant(const TenantRecord& tenant, const AdminAction* trail) {
    if (!validTenantName(tenant.name))
        throw std::invalid_argument("invalid tenant name '" + tenant.name + "' (letters, digits, '.', '_', '-'; at most 64)");
    if (findTenant(tenant.name)) throw AlreadyExists("tenant '" + tenant.name + "' already exists");
    saveTenant(tenant, true, trail);
}

void AuthStore::updateTenant(const TenantRecord& tenant, const AdminAction* trail) {
    if (!findTenant(tenant.name)) throw NotFound("no tenant '" + tenant.name + "'");
    saveTenant(tenant, false, trail);
}

void AuthStore::saveTenant(const TenantRecord& tenant, bool create, const AdminAction* trail) {
    _db.guarded(create ? "cannot create the tenant" : "cannot update the tenant", [&] {
        _db.transaction([&](Session& session) {
            std::string name = tenant.name;
            int enabled = tenant.enabled ? 1 : 0;
            Poco::Int64 expires = tenant.expiresAt;
            int allowAll = tenant.grant.allowAll ? 1 : 0;
            int logPrompts = tenant.logPrompts ? 1 : 0;
            int auditDays = tenant.auditRetentionDays;
            int promptDays = tenant.promptRetentionDays;
            int admin = tenant.admin ? 1 : 0;
            Poco::Int64 at = storeNow();
            if (create) {
                session << _db.sql("INSERT INTO tenants (enabled, expires_at, allow_all_models, log_prompts,"
                                   " audit_retention_days, prompt_retention_days, admin, created_at, updated_at, name)"
                                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    use(enabled), use(expires), use(allowAll), use(logPrompts), use(auditDays), use(promptDays), use(admin),
                    use(at), use(at), use(name), now;
            } else {
                session << _db.sql("UPDATE tenants SET enabled = ?, expires_at = ?, allow_all_models = ?, log_prompts = ?,"
                                   " audit_retention_days = ?, prompt_retention_days = ?, admin = ?, updated_at = ? WHERE name = ?"),
                    use(enabled), use(expires), use(allowAll), use(logPrompts), use(auditDays), use(promptDays), use(admin),
                    use(at), use(name), now;
            }
            writeGrantAndLimits(session, "tenant", tenant.name, tenant.grant, tenant.limits);
            // Nothing can have cached a tenant that did not exist: only
            // changes to an existing one go to the change log.
            if (!create) recordChange(session, tenantSubject(tenant.name));
            writeTrail(session, trail);
        });
    });
}

void AuthStore::createKey(const KeyRecord& key, const AdminAction* trail) {
    if (!findTenant(key.tenant)) throw NotFound("no tenant '" + key.tenant + "'");
    if (findKey(key.keyId)) throw AlreadyExists("key id clash; try again");
    _db.guarded("cannot create the key", [&] {
        _db.transaction([&](Session& session) {
            std::string id = key.keyId;
            std::string tenant = key.tenant;
            std::string hash = key.secretHash;
            int enabled = key.enabled ? 1 : 0;
            Poco::Int64 expires = key.expiresAt;
            int allowAll = key.grant.allowAll ? 1 : 0;
            int admin = key.admin ? 1 : 0;
            Poco::Int64 at = storeNow();
            session << _db.sql("INSERT INTO api_keys (key_id, tenant, secret_hash, enabled, expires_at, allow_all_models,"
                               " admin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                use(id), use(tenant), use(hash), use(enabled), use(expires), use(allowAll), use(admin), use(at), now;
            writeGrantAndLimits(session, "key", key.keyId, key.grant, key.limits);
            // A new key is not announced: nothing can have cached it, and
            // every instance would otherwise retire the shared key cache.
            writeTrail(session, trail);
        });
    });
}

void AuthStore::revokeKey(const std::string& keyId, const AdminAction* trail) {
    if (!findKey(keyId)) throw NotFound("no key '" + keyId + "'");
    _db.guarded("cannot revoke the key", [&] {
        _db.transaction([&](Session& session) {
            std::string id = keyId;
            Poco::Int64 at = storeNow();
            session << _db.sql("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at = 0"), use(at), use(id),
                now;
            recordChange(session, keySubject(keyId));
            writeTrail(session, trail);
        });
    });
}

void AuthStore::setKeyFlag(const std::string& keyId, KeyFlag which, bool on, const AdminAction* trail) {
    if (!findKey(keyId)) throw NotFound("no key '" + keyId + "'");
    // Column names from this switch only, never from the caller.
    const char* const column = which == KeyFlag::Enabled ? "enabled" : "admin";
    _db.guarded("cannot change the key", [&] {
        _db.transaction([&](Session& session) {
            std::string id = keyId;
            int value = on ? 1 : 0;
            session << _db.sql(std::string("UPDATE api_keys SET ") + column + " = ? WHERE key_id = ?"), use(value), use(id), now;
            recordChange(session, keySubject(keyId));
            writeTrail(session, trail);
        });
    });
}

void AuthStore::writeTrail(Session& session, const AdminAction* trail) {
    if (!trail) return;
    Poco::Int64 at = trail->atMs != 0 ? trail->atMs : storeNowMs();
    std::string via = trail->via, actor = trail->actor, what = trail->action, subject = trail->subject,
                address = trail->clientAddress;
    session << _db.sql("INSERT INTO admin_actions (at_ms, via, actor, action, subject, client_address) VALUES (?, ?, ?, ?, ?, ?)"),
        use(at), use(via), use(actor), use(what), use(subject), use(address), now;
}

std::vector<AdminAction> AuthStore::adminActions(std::size_t limit) {
    return _db.guarded("cannot read the operators' actions", [&] {
        auto session = _db.session();
        Poco::Int64 max = static_cast<Poco::Int64>(limit);
        Statement select(session);
        select << _db.sql("SELECT at_ms, via, actor, action, subject, client_address FROM admin_actions ORDER BY seq DESC LIMIT ?"),
            use(max), now;
        RecordSet rows(select);
        std::vector<AdminAction> out;
        for (bool more = rows.moveFirst(); more; more = rows.moveNext())
            out.push_back({number(rows, 0), text(rows, 1), text(rows, 2), text(rows, 3), text(rows, 4), text(rows, 5)});
        return out;
    });
}

void AuthStore::touchKey(const std::string& keyId, long long at) {
    _db.guarded("cannot record a key's use", [&] {
        auto session = _db.session();
        std::string id = keyId;
        Poco::Int64 when = at;
        session << _db.sql("UPDATE api_keys SET last_used_at = ? WHERE key_id = ?"), use(when), use(id), now;
    });
}

long long AuthStore::latestChange() {
    return _db.guarded("cannot read the change log", [&] {
        auto session = _db.session();
        Statement select(session);
        select << _db.sql("SELECT COALESCE(MAX(seq), 0) FROM auth_changes"), now;
        RecordSet rows(select);
        return rows.moveFirst() ? number(rows, 0) : 0LL;
    });
}

std::vector<AuthChange> AuthStore::changesSince(long long seq, int max) {
    return _db.guarded("cannot read the change log", [&] {
        auto session = _db.session();
        Poco::Int64 after = seq;
        Poco::Int64 limit = max;
        Statement select(session);
        select << _db.sql("SELECT seq, subject FROM auth_changes WHERE seq > ? ORDER BY seq LIMIT ?"), use(after),
            use(limit), now;
        RecordSet rows(select);
        std::vector<AuthChange> out;
        for (bool more = rows.moveFirst(); more; more = rows.moveNext()) out.push_back({number(rows, 0), text(rows, 1)});
        return out;
    });
}

} // namespace sluice::store
