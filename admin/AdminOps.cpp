#include "AdminOps.h"

#include "ApiKey.h"
#include "KeyHasher.h"
#include "SharedKeyCache.h"
#include "sluice/redis/Client.h"
#include "sluice/redis/RedisError.h"
#include "sluice/store/StoreError.h"

namespace sluice::admin {

store::AdminAction AdminOps::trail(const Actor& actor, std::string action, std::string subject) const {
    store::AdminAction line;
    line.via = actor.via;
    line.actor = actor.name;
    line.action = std::move(action);
    line.subject = std::move(subject);
    line.clientAddress = actor.clientAddress;
    return line;
}

void AdminOps::announce(const std::vector<std::string>& keyIds, const std::vector<std::string>& subjects) const {
    // The store's change log (and PostgreSQL's NOTIFY) already carry the
    // change; Redis additionally retires shared cache entries at once.
    if (!_settings.redis) return;
    try {
        redis::Client client(*_settings.redis, std::chrono::seconds(2));
        auth::announceChanges(client, keyIds, subjects);
    } catch (const redis::RedisError& e) {
        throw NotAnnounced(std::string("the change is stored, but Redis could not be told (") + e.what() +
                           "): instances may accept cached keys until auth.cache_ttl_s passes; make the change again");
    }
}

store::TenantRecord AdminOps::createTenant(const store::TenantRecord& tenant, const Actor& actor) {
    const auto line = trail(actor, tenant.admin ? "tenant.create+admin" : "tenant.create", store::tenantSubject(tenant.name));
    _store.createTenant(tenant, &line);  // nothing can have cached a new tenant: no announcement
    return *_store.findTenant(tenant.name);
}

store::TenantRecord AdminOps::updateTenant(const store::TenantRecord& tenant, const std::string& action, const Actor& actor) {
    // A change of the admin flag is named in the trail, whatever else changed with it.
    const auto before = _store.findTenant(tenant.name);
    const bool adminChanged = before && before->admin != tenant.admin;
    const auto line = trail(actor, adminChanged ? action + (tenant.admin ? "+admin_on" : "+admin_off") : action,
                            store::tenantSubject(tenant.name));
    _store.updateTenant(tenant, &line);
    std::vector<std::string> keyIds;
    for (const auto& key : _store.keys(tenant.name)) keyIds.push_back(key.keyId);
    announce(keyIds, {store::tenantSubject(tenant.name)});
    return *_store.findTenant(tenant.name);
}

NewKey AdminOps::createKey(store::KeyRecord key, const Actor& actor) {
    const auto fresh = auth::generateApiKey();
    key.keyId = fresh.keyId;
    key.secretHash = auth::hashSecret(fresh.secret, _settings.argon2);
    const auto line = trail(actor, key.admin ? "key.create+admin" : "key.create", store::keySubject(key.keyId));
    // Nothing can have cached a new key, so there is nothing to announce, and
    // a Redis outage cannot cost the operator the key before it is shown.
    _store.createKey(key, &line);
    auto stored = _store.findKey(key.keyId);
    return {stored ? stored->key : key, fresh.text};
}

void AdminOps::revokeKey(const std::string& keyId, const Actor& actor) {
    const auto line = trail(actor, "key.revoke", store::keySubject(keyId));
    _store.revokeKey(keyId, &line);
    announce({keyId}, {store::keySubject(keyId)});
}

void AdminOps::setKeyFlag(const std::string& keyId, store::KeyFlag flag, bool on, const std::string& action, const Actor& actor) {
    const auto line = trail(actor, action, store::keySubject(keyId));
    _store.setKeyFlag(keyId, flag, on, &line);
    announce({keyId}, {store::keySubject(keyId)});
}

void AdminOps::setKeyEnabled(const std::string& keyId, bool enabled, const Actor& actor) {
    setKeyFlag(keyId, store::KeyFlag::Enabled, enabled, enabled ? "key.enable" : "key.disable", actor);
}

void AdminOps::setKeyAdmin(const std::string& keyId, bool admin, const Actor& actor) {
    setKeyFlag(keyId, store::KeyFlag::Admin, admin, admin ? "key.admin_on" : "key.admin_off", actor);
}

} // namespace sluice::admin
