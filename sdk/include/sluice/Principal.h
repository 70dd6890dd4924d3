#pragma once
// Who is calling, as established by the auth stage: the tenant, the key, the
// limits that apply, and the models they may use.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/Abi.h"

namespace sluice {

// Per-principal limits read by the limits stage; empty means "use the default".
struct PrincipalLimits {
    std::optional<std::uint32_t> requestsPerMinute;
    std::optional<std::uint64_t> tokensPerMinute;
    std::optional<std::uint32_t> concurrentRequests;
};

struct SLUICE_API Principal {
    std::string tenant;
    std::string keyId;  // public key id, never the secret
    PrincipalLimits tenantLimits;
    PrincipalLimits keyLimits;
    bool allowAllModels = false;
    std::vector<std::string> allowedModels;  // names or aliases; used when !allowAllModels
    bool logPrompts = false;

    // Whether this principal may use `model` (exact name, or name without a
    // tag matching an entry with ":latest").
    bool mayUse(const std::string& model) const;
};

} // namespace sluice
