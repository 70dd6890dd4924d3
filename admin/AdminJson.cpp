#include "AdminJson.h"

#include <ctime>
#include <iomanip>
#include <sstream>

namespace sluice::admin {

namespace {

nlohmann::json dateOrNull(long long seconds) { return seconds == 0 ? nlohmann::json(nullptr) : nlohmann::json(dateText(seconds)); }

// A retention of 0 (the gateway's default) is null.
nlohmann::json retentionJson(int days) { return days == 0 ? nlohmann::json(nullptr) : nlohmann::json(days); }

} // namespace

std::string dateText(long long seconds) {
    if (seconds == 0) return "-";
    const std::time_t time = seconds;
    std::tm utc{};
    gmtime_r(&time, &utc);
    std::ostringstream out;
    out << std::put_time(&utc, "%Y-%m-%d %H:%M:%SZ");
    return out.str();
}

nlohmann::json grantJson(const store::ModelGrant& grant) {
    return grant.allowAll ? nlohmann::json("all") : nlohmann::json(grant.models);
}

nlohmann::json limitsJson(const store::LimitOverrides& limits) {
    auto field = [](const std::optional<std::int64_t>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    return {{"rpm", field(limits.requestsPerMinute)},
            {"tpm", field(limits.tokensPerMinute)},
            {"concurrent", field(limits.concurrentRequests)},
            {"priority", limits.queuePriority ? nlohmann::json(*limits.queuePriority) : nlohmann::json(nullptr)},
            {"weight", field(limits.queueWeight)}};
}

const char* tenantState(const store::TenantRecord& tenant) {
    if (!tenant.enabled) return "disabled";
    if (tenant.expiresAt != 0 && tenant.expiresAt <= store::storeNow()) return "expired";
    return "enabled";
}

nlohmann::json tenantJson(const store::TenantRecord& tenant) {
    return {{"name", tenant.name},
            {"state", tenantState(tenant)},
            {"admin", tenant.admin},
            {"expires", dateOrNull(tenant.expiresAt)},
            {"models", grantJson(tenant.grant)},
            {"limits", limitsJson(tenant.limits)},
            {"log_prompts", tenant.logPrompts},
            {"audit_retention_days", retentionJson(tenant.auditRetentionDays)},
            {"prompt_retention_days", retentionJson(tenant.promptRetentionDays)},
            {"created", dateText(tenant.createdAt)}};
}

nlohmann::json keyJson(const store::KeyRecord& key) {
    return {{"key_id", key.keyId},
            {"tenant", key.tenant},
            {"state", store::keyStateName(key.state(store::storeNow()))},
            {"admin", key.admin},
            {"created", dateText(key.createdAt)},
            {"last_used", dateOrNull(key.lastUsedAt)},
            {"expires", dateOrNull(key.expiresAt)},
            {"models", grantJson(key.grant)},
            {"limits", limitsJson(key.limits)}};
}

} // namespace sluice::admin
