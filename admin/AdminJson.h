#pragma once
// Tenants and keys as JSON, one shape for `sluicectl --json` and the
// operator console's API (docs/sluicectl.md, docs/console.md). A key's
// secret and hash are never in it.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sluice/store/AuthStore.h"

namespace sluice::admin {

// "2026-12-06 08:00:00Z" for seconds since the epoch; "-" for 0.
std::string dateText(long long seconds);
nlohmann::json grantJson(const store::ModelGrant& grant);
nlohmann::json limitsJson(const store::LimitOverrides& limits);
// "enabled", "disabled" or "expired".
const char* tenantState(const store::TenantRecord& tenant);
nlohmann::json tenantJson(const store::TenantRecord& tenant);
nlohmann::json keyJson(const store::KeyRecord& key);

} // namespace sluice::admin
