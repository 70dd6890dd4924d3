#pragma once
// Everything the apikey stage and `sluicectl` read from the properties file,
// validated in one place so both agree on what a file means.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <Poco/Util/AbstractConfiguration.h>

#include "KeyHasher.h"
#include "sluice/redis/RedisSettings.h"
#include "sluice/store/StoreUrl.h"

namespace sluice::auth {

struct AuthSettings {
    store::StoreUrl store;
    std::optional<redis::RedisUrl> redis;
    std::chrono::milliseconds redisTimeout = redis::RedisSettings{}.timeout;
    Argon2Params argon2;
    std::chrono::seconds cacheTtl{60};
    std::size_t cacheSize = 10000;
    std::chrono::seconds failureCacheTtl{10};
    std::uint32_t failuresPerAddressPerMinute = 20;
    std::uint32_t maxParallelVerifies = 2;
    std::chrono::milliseconds changePollInterval{500};
};

// Reads store.url, redis.url and auth.* from the whole file. Throws ConfigError.
AuthSettings readAuthSettings(const Poco::Util::AbstractConfiguration& config);

} // namespace sluice::auth
