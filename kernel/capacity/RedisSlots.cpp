#include "RedisSlots.h"

#include "sluice/redis/Reply.h"

namespace sluice::kernel {

namespace {

// Drops expired leases, then adds this one only when both sets have room.
const char* const kTakeLua = R"lua(
-- KEYS[1] the backend's leases, KEYS[2] its model's; ARGV[1] lease id,
-- ARGV[2] TTL (ms), ARGV[3] the backend's slots, ARGV[4] the model's (0: no bound).
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local total, model, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[2])
if total > 0 and redis.call('ZCARD', KEYS[1]) >= total then return 0 end
if model > 0 and redis.call('ZCARD', KEYS[2]) >= model then return 0 end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now + ttl, ARGV[1])
  -- The set lives a second past its last lease, whoever's TTL is longer.
  local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[i], math.floor(tonumber(last[2])) + 1000)
end
return 1
)lua";

const char* const kGiveLua = R"lua(
-- KEYS[1] the backend's leases, KEYS[2] its model's; ARGV[1] lease id, ARGV[2] channel, ARGV[3] backend.
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
)lua";

// Only leases still there (XX): one that expired meanwhile is not revived.
const char* const kRefreshLua = R"lua(
-- KEYS: sets; ARGV[1] TTL (ms), then ARGV[i + 1] the lease id in KEYS[i].
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'XX', now + ttl, ARGV[i + 1])
  local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  if #last > 0 then redis.call('PEXPIREAT', KEYS[i], math.floor(tonumber(last[2])) + 1000) end
end
return #KEYS
)lua";

// Other instances' live leases only: this instance adds its own from its
// own count, which is never stale (a snapshot of its own leases would be).
const char* const kCountLua = R"lua(
-- KEYS[1] the backend's leases; ARGV[1] the prefix of this instance's lease ids.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local own, others = ARGV[1], 0
for _, lease in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now + 1, '+inf')) do
  if string.sub(lease, 1, #own) ~= own then others = others + 1 end
end
return others
)lua";

} // namespace

RedisSlots::RedisSlots(redis::RedisUrl url, std::chrono::milliseconds timeout, std::chrono::milliseconds leaseTtl)
    : _url(url), _timeout(timeout), _client(std::move(url), timeout), _leaseTtl(leaseTtl), _take(kTakeLua), _give(kGiveLua), _refresh(kRefreshLua),
      _count(kCountLua) {}

bool RedisSlots::take(const std::string& backend, const std::string& model, const SlotLimits& limits,
                      const std::string& leaseId) {
    const auto reply = _client.evalScript(_take, {backendKey(backend), modelKey(backend, model)},
                                          {leaseId, std::to_string(_leaseTtl.count()), std::to_string(limits.total),
                                           std::to_string(limits.forModel(model))});
    return reply.integer() == 1;
}

void RedisSlots::give(const std::string& backend, const std::string& model, const std::string& leaseId) {
    _client.evalScript(_give, {backendKey(backend), modelKey(backend, model)}, {leaseId, kFreedChannel, backend});
}

void RedisSlots::refresh(const std::vector<Held>& held) {
    if (held.empty()) return;
    std::vector<std::string> keys;
    std::vector<std::string> args{std::to_string(_leaseTtl.count())};
    for (const auto& lease : held) {
        keys.push_back(backendKey(lease.backend));
        args.push_back(lease.leaseId);
        keys.push_back(modelKey(lease.backend, lease.model));
        args.push_back(lease.leaseId);
    }
    _client.evalScript(_refresh, keys, args);
}

std::unique_ptr<redis::Subscriber> RedisSlots::listenForFreed(std::function<void()> freed) const {
    auto subscriber = std::make_unique<redis::Subscriber>(
        _url, std::vector<std::string>{kFreedChannel}, [freed](const std::string&, const std::string&) { freed(); }, freed,
        _timeout);
    subscriber->start();
    return subscriber;
}

long long RedisSlots::othersInUse(const std::string& backend, const std::string& ownPrefix) {
    return _client.evalScript(_count, {backendKey(backend)}, {ownPrefix}).integer();
}

} // namespace sluice::kernel
