#include "sluice/redis/RedisError.h"

namespace sluice::redis {

RedisError::RedisError(Kind kind, const std::string& message) : std::runtime_error(message), _kind(kind) {}

} // namespace sluice::redis
