#pragma once
// The changes an operator makes to tenants and keys, whether through
// sluicectl or the operator console: each is stored with its line in the
// operators' trail (admin_actions, same transaction), and a change to
// something a running instance may have cached is announced through Redis
// when one is configured, so every instance drops it at once.
//
// Errors: store::NotFound, store::AlreadyExists, std::invalid_argument (a
// bad name or value), store::StoreError; NotAnnounced after a change that
// was stored but could not be announced.
// Thread: one AdminOps per caller thread, or guarded by the caller (it
// holds a Redis client for announcements).

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "AuthSettings.h"
#include "sluice/store/AuthStore.h"

namespace sluice::admin {

// Who made a change, as the trail records it.
struct Actor {
    std::string via;            // "sluicectl" or "console"
    std::string name;           // the OS user (sluicectl), "key:ID" (console)
    std::string clientAddress;  // the console's client; empty for sluicectl
};

// The change is stored, but the instances could not be told through Redis:
// they may accept what they cached until auth.cache_ttl_s passes.
class NotAnnounced : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A key just made: its record, and its text, which exists nowhere else.
struct NewKey {
    store::KeyRecord record;
    std::string text;
};

class AdminOps {
public:
    AdminOps(store::AuthStore& store, const auth::AuthSettings& settings) : _store(store), _settings(settings) {}

    store::TenantRecord createTenant(const store::TenantRecord& tenant, const Actor& actor);
    // Stores every field of `tenant` (an existing one); `action` names the
    // change in the trail ("tenant.update", "tenant.disable", ...).
    store::TenantRecord updateTenant(const store::TenantRecord& tenant, const std::string& action, const Actor& actor);
    // Makes a key from `key`'s tenant, grant, limits, expiry and admin flag.
    NewKey createKey(store::KeyRecord key, const Actor& actor);
    void revokeKey(const std::string& keyId, const Actor& actor);
    void setKeyEnabled(const std::string& keyId, bool enabled, const Actor& actor);
    void setKeyAdmin(const std::string& keyId, bool admin, const Actor& actor);

    store::AuthStore& store() { return _store; }

private:
    store::AdminAction trail(const Actor& actor, std::string action, std::string subject) const;
    void announce(const std::vector<std::string>& keyIds, const std::vector<std::string>& subjects) const;
    void setKeyFlag(const std::string& keyId, store::KeyFlag flag, bool on, const std::string& action, const Actor& actor);

    store::AuthStore& _store;
    const auth::AuthSettings& _settings;
};

} // namespace sluice::admin
