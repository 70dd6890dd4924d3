#include "AuthSettings.h"

#include <stdexcept>
#include <thread>

#include "sluice/ConfigError.h"
#include "sluice/ConfigReader.h"
#include "sluice/redis/RedisSettings.h"

namespace sluice::auth {

AuthSettings readAuthSettings(const Poco::Util::AbstractConfiguration& config) {
    const ConfigReader reader(config);
    AuthSettings settings;
    try {
        settings.store = store::StoreUrl::parse(reader.text("store.url", "sqlite:var/sluice.db"),
                                                config.getString("config.dir", ""));
    } catch (const std::invalid_argument& e) {
        throw ConfigError("store.url", std::string(e.what()).substr(std::string("store.url: ").size()));
    }
    const auto redis = redis::readRedisSettings(config);
    settings.redis = redis.url;
    settings.redisTimeout = redis.timeout;

    settings.argon2.timeCost = static_cast<std::uint32_t>(reader.integer("auth.argon2.time_cost", 3, 1, 100));
    settings.argon2.memoryKiB = static_cast<std::uint32_t>(reader.integer("auth.argon2.memory_kib", 65536, 8, 4 * 1024 * 1024));
    settings.argon2.parallelism = static_cast<std::uint32_t>(reader.integer("auth.argon2.parallelism", 4, 1, 64));
    if (settings.argon2.memoryKiB < 8 * settings.argon2.parallelism)
        throw ConfigError("auth.argon2.memory_kib", "must be at least 8 x auth.argon2.parallelism");
    settings.cacheTtl = std::chrono::seconds(reader.integer("auth.cache_ttl_s", 60, 0, 86400));
    settings.cacheSize = static_cast<std::size_t>(reader.integer("auth.cache_size", 10000, 16, 10000000));
    settings.failureCacheTtl = std::chrono::seconds(reader.integer("auth.failure_cache_ttl_s", 10, 0, 3600));
    settings.failuresPerAddressPerMinute =
        static_cast<std::uint32_t>(reader.integer("auth.failures_per_ip_per_min", 20, 0, 1000000));
    const auto cores = std::max(1U, std::thread::hardware_concurrency());
    settings.maxParallelVerifies = static_cast<std::uint32_t>(reader.integer("auth.max_parallel_verifies", cores, 1, 256));
    settings.changePollInterval = reader.millis("auth.change_poll_ms", settings.changePollInterval);
    if (settings.changePollInterval.count() < 50) throw ConfigError("auth.change_poll_ms", "must be at least 50");
    return settings;
}

} // namespace sluice::auth
