#pragma once
// `redis.url` and `redis.timeout_ms`, read in one place for every plugin that
// uses Redis (auth's shared cache, the rate limiter), so they cannot drift
// apart on a default or a check.

#include <chrono>
#include <optional>

#include <Poco/Util/AbstractConfiguration.h>

#include "sluice/redis/RedisUrl.h"

namespace sluice::redis {

struct RedisSettings {
    std::optional<RedisUrl> url;  // none: redis.url is empty, keep state in-process
    std::chrono::milliseconds timeout{250};
};

// From the whole configuration. Throws sluice::ConfigError naming the key.
RedisSettings readRedisSettings(const Poco::Util::AbstractConfiguration& config);

} // namespace sluice::redis
