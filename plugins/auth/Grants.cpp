#include "Grants.h"

#include <algorithm>
#include <limits>

#include "sluice/Catalog.h"

namespace sluice::auth {

namespace {
bool grantCovers(const store::ModelGrant& grant, const std::string& model) {
    if (grant.allowAll) return true;
    for (const auto& allowed : grant.models)
        if (sameModel(model, allowed) || sameModel(allowed, model)) return true;
    return false;
}

// The store keeps 64-bit values; a larger limit than the principal can hold
// is as good as unlimited, so it saturates rather than wrapping to something small.
std::uint32_t saturated32(std::int64_t value) {
    return static_cast<std::uint32_t>(std::clamp<std::int64_t>(value, 0, std::numeric_limits<std::uint32_t>::max()));
}

PrincipalLimits limitsFrom(const store::LimitOverrides& overrides) {
    PrincipalLimits limits;
    if (overrides.requestsPerMinute) limits.requestsPerMinute = saturated32(*overrides.requestsPerMinute);
    if (overrides.tokensPerMinute) limits.tokensPerMinute = static_cast<std::uint64_t>(std::max<std::int64_t>(0, *overrides.tokensPerMinute));
    if (overrides.concurrentRequests) limits.concurrentRequests = saturated32(*overrides.concurrentRequests);
    if (overrides.queuePriority)
        limits.queuePriority = *overrides.queuePriority == "batch" ? QueuePriority::Batch : QueuePriority::Interactive;
    if (overrides.queueWeight) limits.queueWeight = static_cast<std::uint32_t>(std::clamp<std::int64_t>(*overrides.queueWeight, 1, 1000));
    return limits;
}
} // namespace

store::ModelGrant intersect(const store::ModelGrant& tenant, const store::ModelGrant& key) {
    if (tenant.allowAll) return key;
    if (key.allowAll) return tenant;
    store::ModelGrant both;
    for (const auto& model : key.models)
        if (grantCovers(tenant, model)) both.models.push_back(model);
    return both;
}

Principal principalFor(const store::KeyAndTenant& found) {
    Principal principal;
    principal.tenant = found.tenant.name;
    principal.keyId = found.key.keyId;
    principal.tenantLimits = limitsFrom(found.tenant.limits);
    principal.keyLimits = limitsFrom(found.key.limits);
    const auto grant = intersect(found.tenant.grant, found.key.grant);
    principal.allowAllModels = grant.allowAll;
    principal.allowedModels = grant.models;
    principal.logPrompts = found.tenant.logPrompts;
    principal.admin = found.tenant.admin || found.key.admin;
    return principal;
}

} // namespace sluice::auth
