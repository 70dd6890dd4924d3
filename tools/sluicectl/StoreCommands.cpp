#include "StoreCommands.h"

#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ApiKey.h"
#include "AuthSettings.h"
#include "Config.h"
#include "KeyHasher.h"
#include "SharedKeyCache.h"
#include "sluice/ConfigError.h"
#include "sluice/redis/RedisError.h"
#include "sluice/store/AuthStore.h"
#include "sluice/store/Migrations.h"
#include "sluice/store/StoreError.h"

namespace sluicectl {

namespace {

using sluice::store::AuthStore;
using sluice::store::KeyRecord;
using sluice::store::TenantRecord;

constexpr std::int64_t kMaxLimit = 1'000'000'000'000LL;
constexpr std::int64_t kMaxRequestsPerMinute = 4'294'967'295LL;  // what a Principal holds
constexpr std::int64_t kMaxDays = 36500;

// The store as the file names it, at the current schema. SQLite is migrated
// here as sluiced would on start; PostgreSQL needs an explicit `migrate`.
struct Admin {
    sluice::auth::AuthSettings settings;
    std::unique_ptr<sluice::store::Database> database;
    std::unique_ptr<AuthStore> store;

    explicit Admin(const CommandLine& line, bool requireSchema = true) {
        try {
            settings = sluice::auth::readAuthSettings(*sluice::kernel::loadConfig(line.configPath("the store")));
        } catch (const sluice::ConfigError& e) {
            throw CommandFailed(std::string("configuration error: ") + e.what());
        }
        try {
            database = std::make_unique<sluice::store::Database>(settings.store, 2);
            if (requireSchema) {
                if (settings.store.engine == sluice::store::Engine::SQLite) sluice::store::migrate(*database);
                sluice::store::requireCurrentSchema(*database);
            }
        } catch (const sluice::store::StoreError& e) {
            throw CommandFailed(e.what());
        }
        store = std::make_unique<AuthStore>(*database);
    }

    // Tells running instances through Redis, when one is configured. The
    // store's own change log (and PostgreSQL's NOTIFY) already carry the
    // change; Redis additionally retires shared cache entries.
    void announce(const std::vector<std::string>& keyIds, const std::vector<std::string>& subjects) const {
        if (!settings.redis) return;
        try {
            sluice::redis::Client client(*settings.redis, std::chrono::seconds(2));
            sluice::auth::announceChanges(client, keyIds, subjects);
        } catch (const sluice::redis::RedisError& e) {
            throw CommandFailed(std::string("the change is stored, but Redis could not be told (") + e.what() +
                                "): instances may accept cached keys until auth.cache_ttl_s passes; run the command again");
        }
    }
};

std::string date(long long seconds) {
    if (seconds == 0) return "-";
    const std::time_t time = seconds;
    std::tm utc{};
    gmtime_r(&time, &utc);
    std::ostringstream out;
    out << std::put_time(&utc, "%Y-%m-%d %H:%M:%SZ");
    return out.str();
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
    return out;
}

std::string grantText(const sluice::store::ModelGrant& grant, const char* none) {
    if (grant.allowAll) return "all";
    return grant.models.empty() ? none : joined(grant.models);
}

std::string limitText(const std::optional<std::int64_t>& value) {
    if (!value) return "default";
    return *value == 0 ? "unlimited" : std::to_string(*value);
}

nlohmann::json limitsJson(const sluice::store::LimitOverrides& limits) {
    auto field = [](const std::optional<std::int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    return {{"rpm", field(limits.requestsPerMinute)},
            {"tpm", field(limits.tokensPerMinute)},
            {"concurrent", field(limits.concurrentRequests)},
            {"priority", limits.queuePriority ? nlohmann::json(*limits.queuePriority) : nlohmann::json(nullptr)},
            {"weight", field(limits.queueWeight)}};
}

// The queue's class and weight as a listing shows them; a key's "-" is its tenant's.
std::string priorityText(const sluice::store::LimitOverrides& limits, const char* unset) {
    return limits.queuePriority ? *limits.queuePriority : unset;
}
std::string weightText(const sluice::store::LimitOverrides& limits, const char* unset) {
    return limits.queueWeight ? std::to_string(*limits.queueWeight) : unset;
}

nlohmann::json grantJson(const sluice::store::ModelGrant& grant) {
    return grant.allowAll ? nlohmann::json("all") : nlohmann::json(grant.models);
}

// --models / --all-models / --rpm / --tpm / --concurrent / --expires /
// --priority / --weight, shared by tenants and keys; each given option
// replaces that field.
void applyCommon(const CommandLine& line, sluice::store::ModelGrant& grant, sluice::store::LimitOverrides& limits,
                 long long& expiresAt) {
    if (line.has("--models") && line.has("--all-models")) throw UsageError("--models and --all-models exclude each other");
    if (auto models = line.list("--models")) {
        for (const auto& model : *models)
            if (!AuthStore::validModelName(model)) throw UsageError("invalid model name '" + model + "'");
        grant = {false, *models};
    }
    if (line.has("--all-models")) grant = {true, {}};
    if (auto rpm = line.number("--rpm", 0, kMaxRequestsPerMinute)) limits.requestsPerMinute = *rpm;
    if (auto tpm = line.number("--tpm", 0, kMaxLimit)) limits.tokensPerMinute = *tpm;
    if (auto concurrent = line.number("--concurrent", 0, 1'000'000)) limits.concurrentRequests = *concurrent;
    if (auto days = line.number("--expires", 1, kMaxDays)) expiresAt = sluice::store::storeNow() + *days * 86400;
    if (auto priority = line.value("--priority")) {
        if (*priority != "interactive" && *priority != "batch")
            throw UsageError("--priority is interactive or batch, not '" + *priority + "'");
        limits.queuePriority = *priority;
    }
    if (auto weight = line.number("--weight", 1, 1000)) limits.queueWeight = *weight;
}

const char* tenantState(const TenantRecord& tenant) {
    if (!tenant.enabled) return "disabled";
    if (tenant.expiresAt != 0 && tenant.expiresAt <= sluice::store::storeNow()) return "expired";
    return "enabled";
}

std::string retentionText(int days) { return days == 0 ? "default" : std::to_string(days) + "d"; }

// A retention of 0 (the gateway's default) is null in JSON.
nlohmann::json retentionJson(int days) { return days == 0 ? nlohmann::json(nullptr) : nlohmann::json(days); }

nlohmann::json tenantJson(const TenantRecord& tenant) {
    return {{"name", tenant.name},
            {"state", tenantState(tenant)},
            {"expires", tenant.expiresAt == 0 ? nlohmann::json(nullptr) : nlohmann::json(date(tenant.expiresAt))},
            {"models", grantJson(tenant.grant)},
            {"limits", limitsJson(tenant.limits)},
            {"log_prompts", tenant.logPrompts},
            {"audit_retention_days", retentionJson(tenant.auditRetentionDays)},
            {"prompt_retention_days", retentionJson(tenant.promptRetentionDays)},
            {"created", date(tenant.createdAt)}};
}

void printTenant(const TenantRecord& tenant, bool json) {
    if (json) {
        std::cout << tenantJson(tenant).dump() << "\n";
        return;
    }
    std::cout << "tenant " << tenant.name << ": " << tenantState(tenant) << ", models " << grantText(tenant.grant, "none")
              << ", rpm " << limitText(tenant.limits.requestsPerMinute) << ", tpm "
              << limitText(tenant.limits.tokensPerMinute) << ", concurrent "
              << limitText(tenant.limits.concurrentRequests) << ", queue " << priorityText(tenant.limits, "interactive")
              << " weight " << weightText(tenant.limits, "1") << ", prompt log " << (tenant.logPrompts ? "on" : "off")
              << ", audit kept " << retentionText(tenant.auditRetentionDays) << ", prompts kept "
              << retentionText(tenant.promptRetentionDays)
              << (tenant.expiresAt != 0 ? ", expires " + date(tenant.expiresAt) : std::string()) << "\n";
}

// --log-prompts, --audit-retention and --prompt-retention: what the audit sinks read of a tenant.
void applyAuditOptions(const CommandLine& line, TenantRecord& tenant) {
    if (auto logPrompts = line.onOff("--log-prompts")) tenant.logPrompts = *logPrompts;
    if (auto days = line.number("--audit-retention", 0, kMaxDays)) tenant.auditRetentionDays = static_cast<int>(*days);
    if (auto days = line.number("--prompt-retention", 0, kMaxDays)) tenant.promptRetentionDays = static_cast<int>(*days);
}

int tenantsCreate(const CommandLine& line) {
    line.allow("tenants create", {"--models", "--all-models", "--rpm", "--tpm", "--concurrent", "--expires", "--priority", "--weight", "--log-prompts",
                                  "--audit-retention", "--prompt-retention"},
               3);
    TenantRecord tenant;
    tenant.name = line.word(2, "tenant name");
    if (!AuthStore::validTenantName(tenant.name))
        throw UsageError("invalid tenant name '" + tenant.name + "' (letters, digits, '.', '_', '-'; at most 64)");
    applyCommon(line, tenant.grant, tenant.limits, tenant.expiresAt);
    applyAuditOptions(line, tenant);
    Admin admin(line);
    admin.store->createTenant(tenant);  // nothing can have cached a new tenant: no announcement
    printTenant(*admin.store->findTenant(tenant.name), line.json());
    if (!tenant.grant.allowAll && tenant.grant.models.empty())
        std::cerr << "note: tenant " << tenant.name
                  << " may use no model yet; grant some with `tenants set " << tenant.name
                  << " --models a,b` or --all-models\n";
    return kExitOk;
}

int tenantsSet(const CommandLine& line, std::optional<bool> enable) {
    const std::string command = enable ? (*enable ? "tenants enable" : "tenants disable") : "tenants set";
    if (enable) {
        line.allow(command, {}, 3);
    } else {
        line.allow(command, {"--models", "--all-models", "--rpm", "--tpm", "--concurrent", "--expires", "--priority", "--weight", "--log-prompts",
                             "--audit-retention", "--prompt-retention", "--no-expiry", "--default-limits"},
                   3);
    }
    const auto& name = line.word(2, "tenant name");
    Admin admin(line);
    auto tenant = admin.store->findTenant(name);
    if (!tenant) throw CommandFailed("no tenant '" + name + "'");
    if (enable) {
        tenant->enabled = *enable;
    } else {
        if (line.has("--default-limits")) tenant->limits = {};
        if (line.has("--no-expiry")) tenant->expiresAt = 0;
        applyCommon(line, tenant->grant, tenant->limits, tenant->expiresAt);
        applyAuditOptions(line, *tenant);
    }
    admin.store->updateTenant(*tenant);
    std::vector<std::string> keyIds;
    for (const auto& key : admin.store->keys(name)) keyIds.push_back(key.keyId);
    admin.announce(keyIds, {sluice::store::tenantSubject(name)});
    printTenant(*admin.store->findTenant(name), line.json());
    return kExitOk;
}

int tenantsList(const CommandLine& line) {
    line.allow("tenants list", {}, 2);
    Admin admin(line);
    const auto tenants = admin.store->tenants();
    if (line.json()) {
        auto all = nlohmann::json::array();
        for (const auto& tenant : tenants) all.push_back(tenantJson(tenant));
        std::cout << all.dump() << "\n";
        return kExitOk;
    }
    std::cout << std::left << std::setw(20) << "TENANT" << std::setw(10) << "STATE" << std::setw(12) << "RPM"
              << std::setw(12) << "TPM" << std::setw(12) << "CONCURRENT" << std::setw(13) << "PRIORITY" << std::setw(8)
              << "WEIGHT" << std::setw(8) << "PROMPTS" << "MODELS\n";
    for (const auto& tenant : tenants)
        std::cout << std::left << std::setw(20) << tenant.name << std::setw(10) << tenantState(tenant) << std::setw(12)
                  << limitText(tenant.limits.requestsPerMinute) << std::setw(12) << limitText(tenant.limits.tokensPerMinute)
                  << std::setw(12) << limitText(tenant.limits.concurrentRequests) << std::setw(13)
                  << priorityText(tenant.limits, "interactive") << std::setw(8) << weightText(tenant.limits, "1") << std::setw(8)
                  << (tenant.logPrompts ? "on" : "off") << grantText(tenant.grant, "none") << "\n";
    return kExitOk;
}

int keysCreate(const CommandLine& line) {
    line.allow("keys create",
               {"--tenant", "--models", "--all-models", "--rpm", "--tpm", "--concurrent", "--expires", "--priority", "--weight"}, 2);
    const auto tenant = line.value("--tenant");
    if (!tenant || tenant->empty()) throw UsageError("keys create needs --tenant NAME");
    KeyRecord key;
    key.tenant = *tenant;
    applyCommon(line, key.grant, key.limits, key.expiresAt);
    Admin admin(line);
    const auto fresh = sluice::auth::generateApiKey();
    key.keyId = fresh.keyId;
    key.secretHash = sluice::auth::hashSecret(fresh.secret, admin.settings.argon2);
    try {
        admin.store->createKey(key);
    } catch (const sluice::store::NotFound&) {
        throw CommandFailed("no tenant '" + *tenant + "'");
    }
    // Nothing can have cached a new key, so there is nothing to announce, and
    // a Redis outage cannot cost the operator the key before it is printed.
    if (line.json()) {
        std::cout << nlohmann::json{{"key_id", key.keyId},
                                    {"tenant", key.tenant},
                                    {"models", grantJson(key.grant)},
                                    {"limits", limitsJson(key.limits)},
                                    {"expires", key.expiresAt == 0 ? nlohmann::json(nullptr) : nlohmann::json(date(key.expiresAt))},
                                    {"key", fresh.text}}
                         .dump()
                  << "\n";
        return kExitOk;
    }
    std::cout << "key " << key.keyId << " for tenant " << key.tenant << ", models "
              << (key.grant.allowAll ? "as the tenant" : joined(key.grant.models))
              << (key.expiresAt != 0 ? ", expires " + date(key.expiresAt) : std::string()) << "\n"
              << "This is the only time the key is shown; store it now:\n"
              << fresh.text << "\n";
    return kExitOk;
}

int keysList(const CommandLine& line) {
    line.allow("keys list", {"--tenant"}, 2);
    Admin admin(line);
    const auto tenant = line.value("--tenant").value_or("");
    if (!tenant.empty() && !admin.store->findTenant(tenant)) throw CommandFailed("no tenant '" + tenant + "'");
    const auto keys = admin.store->keys(tenant);
    const auto now = sluice::store::storeNow();
    if (line.json()) {
        auto all = nlohmann::json::array();
        for (const auto& key : keys)
            all.push_back({{"key_id", key.keyId},
                           {"tenant", key.tenant},
                           {"state", sluice::store::keyStateName(key.state(now))},
                           {"created", date(key.createdAt)},
                           {"last_used", key.lastUsedAt == 0 ? nlohmann::json(nullptr) : nlohmann::json(date(key.lastUsedAt))},
                           {"expires", key.expiresAt == 0 ? nlohmann::json(nullptr) : nlohmann::json(date(key.expiresAt))},
                           {"models", grantJson(key.grant)},
                           {"limits", limitsJson(key.limits)}});
        std::cout << all.dump() << "\n";
        return kExitOk;
    }
    std::cout << std::left << std::setw(14) << "KEY ID" << std::setw(20) << "TENANT" << std::setw(10) << "STATE"
              << std::setw(22) << "CREATED" << std::setw(22) << "LAST USED" << std::setw(22) << "EXPIRES" << std::setw(13)
              << "PRIORITY" << "WEIGHT\n";
    for (const auto& key : keys)
        std::cout << std::left << std::setw(14) << key.keyId << std::setw(20) << key.tenant << std::setw(10)
                  << sluice::store::keyStateName(key.state(now)) << std::setw(22) << date(key.createdAt) << std::setw(22)
                  << date(key.lastUsedAt) << std::setw(22) << date(key.expiresAt) << std::setw(13) << priorityText(key.limits, "-")
                  << weightText(key.limits, "-") << "\n";
    return kExitOk;
}

int keysRevoke(const CommandLine& line) {
    line.allow("keys revoke", {}, 3);
    const auto& keyId = line.word(2, "key id");
    Admin admin(line);
    try {
        admin.store->revokeKey(keyId);
    } catch (const sluice::store::NotFound&) {
        throw CommandFailed("no key '" + keyId + "'");
    }
    admin.announce({keyId}, {sluice::store::keySubject(keyId)});
    if (line.json())
        std::cout << nlohmann::json{{"key_id", keyId}, {"state", "revoked"}}.dump() << "\n";
    else
        std::cout << "key " << keyId << " revoked\n";
    return kExitOk;
}

// Store and validation failures become exit 1 with one line.
template <typename Command>
int guarded(Command&& command) {
    try {
        return command();
    } catch (const sluice::store::StoreError& e) {
        throw CommandFailed(e.what());
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
}

} // namespace

int runMigrate(const CommandLine& line) {
    line.allow("migrate", {}, 1);
    return guarded([&] {
        Admin admin(line, false);
        const auto applied = sluice::store::migrate(*admin.database);
        const auto version = sluice::store::schemaVersion(*admin.database);
        if (line.json()) {
            auto list = nlohmann::json::array();
            for (const auto& migration : applied) list.push_back({{"version", migration.version}, {"description", migration.description}});
            std::cout << nlohmann::json{{"store", admin.settings.store.display()}, {"version", version}, {"applied", list}}.dump()
                      << "\n";
        } else {
            for (const auto& migration : applied)
                std::cout << "applied " << migration.version << ": " << migration.description << "\n";
            std::cout << admin.settings.store.display() << " is at schema version " << version
                      << (applied.empty() ? " (nothing to do)" : "") << "\n";
        }
        return kExitOk;
    });
}

int runTenants(const CommandLine& line) {
    const auto& action = line.word(1, "tenants command (create, list, set, enable, disable)");
    return guarded([&] {
        if (action == "create") return tenantsCreate(line);
        if (action == "list") return tenantsList(line);
        if (action == "set") return tenantsSet(line, std::nullopt);
        if (action == "enable") return tenantsSet(line, true);
        if (action == "disable") return tenantsSet(line, false);
        throw UsageError("unknown tenants command '" + action + "' (create, list, set, enable, disable)");
    });
}

int runKeys(const CommandLine& line) {
    const auto& action = line.word(1, "keys command (create, list, revoke)");
    return guarded([&] {
        if (action == "create") return keysCreate(line);
        if (action == "list") return keysList(line);
        if (action == "revoke") return keysRevoke(line);
        throw UsageError("unknown keys command '" + action + "' (create, list, revoke)");
    });
}

} // namespace sluicectl
