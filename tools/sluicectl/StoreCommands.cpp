#include "StoreCommands.h"

#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <pwd.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "AdminJson.h"
#include "AdminOps.h"
#include "AuthSettings.h"
#include "Config.h"
#include "sluice/ConfigError.h"
#include "sluice/store/AuthStore.h"
#include "sluice/store/Migrations.h"
#include "sluice/store/StoreError.h"

namespace sluicectl {

namespace {

using sluice::admin::dateText;
using sluice::admin::grantJson;
using sluice::admin::limitsJson;
using sluice::admin::tenantJson;
using sluice::admin::tenantState;
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

    // The change and its line in the operators' trail, as the console makes it.
    sluice::admin::AdminOps ops() { return sluice::admin::AdminOps(*store, settings); }
};

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

// The queue's class and weight as a listing shows them; a key's "-" is its tenant's.
std::string priorityText(const sluice::store::LimitOverrides& limits, const char* unset) {
    return limits.queuePriority ? *limits.queuePriority : unset;
}
std::string weightText(const sluice::store::LimitOverrides& limits, const char* unset) {
    return limits.queueWeight ? std::to_string(*limits.queueWeight) : unset;
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

std::string retentionText(int days) { return days == 0 ? "default" : std::to_string(days) + "d"; }

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
              << (tenant.expiresAt != 0 ? ", expires " + dateText(tenant.expiresAt) : std::string())
              << (tenant.admin ? ", console admin" : "") << "\n";
}

// --log-prompts, --audit-retention and --prompt-retention: what the audit sinks read of a tenant.
void applyAuditOptions(const CommandLine& line, TenantRecord& tenant) {
    if (auto logPrompts = line.onOff("--log-prompts")) tenant.logPrompts = *logPrompts;
    if (auto days = line.number("--audit-retention", 0, kMaxDays)) tenant.auditRetentionDays = static_cast<int>(*days);
    if (auto days = line.number("--prompt-retention", 0, kMaxDays)) tenant.promptRetentionDays = static_cast<int>(*days);
}

// The trail names who ran sluicectl: the user behind sudo, else the process's.
sluice::admin::Actor operatorActor() {
    std::string user;
    if (const char* sudo = std::getenv("SUDO_USER"); sudo && *sudo) user = sudo;
    else if (const auto* entry = ::getpwuid(::geteuid())) user = entry->pw_name;
    else user = std::to_string(::geteuid());
    return {"sluicectl", "user:" + user, ""};
}

int tenantsCreate(const CommandLine& line) {
    line.allow("tenants create", {"--models", "--all-models", "--rpm", "--tpm", "--concurrent", "--expires", "--priority", "--weight", "--log-prompts",
                                  "--audit-retention", "--prompt-retention", "--admin"},
               3);
    TenantRecord tenant;
    tenant.name = line.word(2, "tenant name");
    if (!AuthStore::validTenantName(tenant.name))
        throw UsageError("invalid tenant name '" + tenant.name + "' (letters, digits, '.', '_', '-'; at most 64)");
    applyCommon(line, tenant.grant, tenant.limits, tenant.expiresAt);
    applyAuditOptions(line, tenant);
    if (auto admin = line.onOff("--admin")) tenant.admin = *admin;
    Admin admin(line);
    printTenant(admin.ops().createTenant(tenant, operatorActor()), line.json());
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
                             "--audit-retention", "--prompt-retention", "--no-expiry", "--default-limits", "--admin"},
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
        if (auto on = line.onOff("--admin")) tenant->admin = *on;
    }
    const auto action = enable ? (*enable ? "tenant.enable" : "tenant.disable") : "tenant.update";
    printTenant(admin.ops().updateTenant(*tenant, action, operatorActor()), line.json());
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
              << "WEIGHT" << std::setw(8) << "PROMPTS" << std::setw(7) << "ADMIN" << "MODELS\n";
    for (const auto& tenant : tenants)
        std::cout << std::left << std::setw(20) << tenant.name << std::setw(10) << tenantState(tenant) << std::setw(12)
                  << limitText(tenant.limits.requestsPerMinute) << std::setw(12) << limitText(tenant.limits.tokensPerMinute)
                  << std::setw(12) << limitText(tenant.limits.concurrentRequests) << std::setw(13)
                  << priorityText(tenant.limits, "interactive") << std::setw(8) << weightText(tenant.limits, "1") << std::setw(8)
                  << (tenant.logPrompts ? "on" : "off") << std::setw(7) << (tenant.admin ? "yes" : "no")
                  << grantText(tenant.grant, "none") << "\n";
    return kExitOk;
}

int keysCreate(const CommandLine& line) {
    line.allow("keys create",
               {"--tenant", "--models", "--all-models", "--rpm", "--tpm", "--concurrent", "--expires", "--priority", "--weight", "--admin"}, 2);
    const auto tenant = line.value("--tenant");
    if (!tenant || tenant->empty()) throw UsageError("keys create needs --tenant NAME");
    KeyRecord key;
    key.tenant = *tenant;
    applyCommon(line, key.grant, key.limits, key.expiresAt);
    key.admin = line.onOff("--admin").value_or(false);
    Admin admin(line);
    sluice::admin::NewKey made;
    try {
        made = admin.ops().createKey(key, operatorActor());
    } catch (const sluice::store::NotFound&) {
        throw CommandFailed("no tenant '" + *tenant + "'");
    }
    if (line.json()) {
        auto out = sluice::admin::keyJson(made.record);
        out["key"] = made.text;
        std::cout << out.dump() << "\n";
        return kExitOk;
    }
    const auto& stored = made.record;
    std::cout << "key " << stored.keyId << " for tenant " << stored.tenant << ", models "
              << (stored.grant.allowAll ? "as the tenant" : joined(stored.grant.models))
              << (stored.expiresAt != 0 ? ", expires " + dateText(stored.expiresAt) : std::string())
              << (stored.admin ? ", console admin" : "") << "\n"
              << "This is the only time the key is shown; store it now:\n"
              << made.text << "\n";
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
        for (const auto& key : keys) all.push_back(sluice::admin::keyJson(key));
        std::cout << all.dump() << "\n";
        return kExitOk;
    }
    std::cout << std::left << std::setw(14) << "KEY ID" << std::setw(20) << "TENANT" << std::setw(10) << "STATE"
              << std::setw(22) << "CREATED" << std::setw(22) << "LAST USED" << std::setw(22) << "EXPIRES" << std::setw(13)
              << "PRIORITY" << std::setw(8) << "WEIGHT" << "ADMIN\n";
    for (const auto& key : keys)
        std::cout << std::left << std::setw(14) << key.keyId << std::setw(20) << key.tenant << std::setw(10)
                  << sluice::store::keyStateName(key.state(now)) << std::setw(22) << dateText(key.createdAt) << std::setw(22)
                  << dateText(key.lastUsedAt) << std::setw(22) << dateText(key.expiresAt) << std::setw(13) << priorityText(key.limits, "-")
                  << std::setw(8) << weightText(key.limits, "-") << (key.admin ? "yes" : "no") << "\n";
    return kExitOk;
}

// revoke, enable, disable, and set --admin on|off: one key, by id.
int keysChange(const CommandLine& line, const std::string& action) {
    line.allow("keys " + action, action == "set" ? std::set<std::string>{"--admin"} : std::set<std::string>{}, 3);
    const auto& keyId = line.word(2, "key id");
    Admin admin(line);
    auto ops = admin.ops();
    const auto actor = operatorActor();
    try {
        if (action == "revoke") ops.revokeKey(keyId, actor);
        else if (action == "enable" || action == "disable") ops.setKeyEnabled(keyId, action == "enable", actor);
        else if (auto on = line.onOff("--admin")) ops.setKeyAdmin(keyId, *on, actor);
        else throw UsageError("keys set needs --admin on|off");
    } catch (const sluice::store::NotFound&) {
        throw CommandFailed("no key '" + keyId + "'");
    }
    const auto found = admin.store->findKey(keyId);
    if (line.json())
        std::cout << sluice::admin::keyJson(found->key).dump() << "\n";
    else
        std::cout << "key " << keyId << " " << sluice::store::keyStateName(found->key.state(sluice::store::storeNow()))
                  << (found->key.admin ? ", console admin" : "") << "\n";
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
    } catch (const sluice::admin::NotAnnounced& e) {
        throw CommandFailed(e.what());
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
    const auto& action = line.word(1, "keys command (create, list, revoke, enable, disable, set)");
    return guarded([&] {
        if (action == "create") return keysCreate(line);
        if (action == "list") return keysList(line);
        if (action == "revoke" || action == "enable" || action == "disable" || action == "set") return keysChange(line, action);
        throw UsageError("unknown keys command '" + action + "' (create, list, revoke, enable, disable, set)");
    });
}

} // namespace sluicectl
