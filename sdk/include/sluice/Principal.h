#pragma once
// Who is calling, as established by the auth stage: the tenant, the key, the
// limits that apply, and the models they may use.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/Abi.h"

namespace sluice {

// A request's class in the gateway's queue for backend slots (docs/capacity.md).
enum class QueuePriority { Interactive, Batch };

// Per-principal limits read by the limits stage; empty means "use the default".
// The queue's class and weight are read by the kernel: a key's over its
// tenant's, else interactive and 1.
struct PrincipalLimits {
    std::optional<std::uint32_t> requestsPerMinute;
    std::optional<std::uint64_t> tokensPerMinute;
    std::optional<std::uint32_t> concurrentRequests;
    std::optional<QueuePriority> queuePriority;
    std::optional<std::uint32_t> queueWeight;  // 1 to 1000: its share against other tenants while both wait
};

struct SLUICE_API Principal {
    std::string tenant;
    std::string keyId;  // public key id, never the secret
    PrincipalLimits tenantLimits;
    PrincipalLimits keyLimits;
    bool allowAllModels = false;
    std::vector<std::string> allowedModels;  // names or aliases; used when !allowAllModels
    bool logPrompts = false;
    // May open the operator console (docs/console.md): the key's or its
    // tenant's admin flag. Nothing on the API path reads it.
    bool admin = false;

    // Whether this principal may use `model` (exact name, or name without a
    // tag matching an entry with ":latest").
    bool mayUse(const std::string& model) const;
};

} // namespace sluice
