#include "sluice/redis/RedisSettings.h"

#include <stdexcept>

#include "sluice/ConfigError.h"
#include "sluice/ConfigReader.h"

namespace sluice::redis {

RedisSettings readRedisSettings(const Poco::Util::AbstractConfiguration& config) {
    const ConfigReader reader(config);
    RedisSettings settings;
    if (const auto url = reader.text("redis.url"); !url.empty()) {
        try {
            settings.url = RedisUrl::parse(url);
        } catch (const std::invalid_argument& e) {
            throw ConfigError("redis.url", e.what());
        }
    }
    settings.timeout = reader.millis("redis.timeout_ms", settings.timeout);
    return settings;
}

} // namespace sluice::redis
