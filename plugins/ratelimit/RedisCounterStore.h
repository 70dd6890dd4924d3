#pragma once
// The rate-limit counts in Redis, so several gateway instances behind a load
// balancer share them exactly. Each scope has up to three keys:
//
//   <prefix>req:<scope>    ZSET, the request log: member "<ms>-<leaseId>", score = admission time (ms)
//   <prefix>tok:<scope>    HASH, token buckets: field = epoch second, value = tokens charged in it
//   <prefix>lease:<scope>  ZSET, live leases: member = leaseId, score = expiry time (ms)
//
// admit() and release() are one Lua script each, so one round trip, atomic
// across instances, and timed by the Redis server's clock (TIME) rather than
// each instance's. Every key carries a TTL: request logs and token hashes
// 61 s, lease sets leaseTtl + 1 s, so an idle scope leaves nothing behind.
// Thread: every method may be called from any thread at once.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "CounterStore.h"
#include "sluice/redis/Client.h"
#include "sluice/redis/Script.h"

namespace sluice::ratelimit {

class RedisCounterStore final : public CounterStore {
public:
    // Talks to Redis only when called; a gateway may start while Redis is down.
    RedisCounterStore(std::shared_ptr<redis::Client> client, std::chrono::seconds leaseTtl,
                      std::string keyPrefix = "sluice:rl:");

    // Redis errors give Result::StoreFailed with the message, bounded by the
    // client's timeout. When several limits refuse, the one reported is the
    // one that lasts longest: retrying before it ends is pointless.
    Admission admit(const Ticket& ticket) override;
    // A failure is counted in releaseFailures(); the lease then ends by its
    // TTL and the tokens go uncharged.
    void release(const Ticket& ticket, std::uint64_t tokens) noexcept override;
    // Live leases by the Redis clock. Throws redis::RedisError when Redis cannot be asked.
    std::uint64_t leasesHeld(const std::string& scope) override;
    bool remote() const override { return true; }

    // Releases that did not reach Redis since start, for the caller's log and /metrics.
    std::uint64_t releaseFailures() const { return _releaseFailures.load(std::memory_order_relaxed); }

    std::string requestLogKey(const std::string& scope) const { return _keyPrefix + "req:" + scope; }
    std::string tokenBucketsKey(const std::string& scope) const { return _keyPrefix + "tok:" + scope; }
    std::string leaseSetKey(const std::string& scope) const { return _keyPrefix + "lease:" + scope; }

private:
    const std::shared_ptr<redis::Client> _client;
    const std::chrono::milliseconds _leaseTtl;
    const std::string _keyPrefix;
    const redis::Script _admitScript;
    const redis::Script _releaseScript;
    const redis::Script _leasesHeldScript;
    std::atomic<std::uint64_t> _releaseFailures{0};
};

} // namespace sluice::ratelimit
