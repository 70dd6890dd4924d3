#pragma once
// Backend slots counted in Redis, so every sluiced sharing `redis.url` keeps
// a backend within its slots together (docs/capacity.md). Each slot held is
// a lease in two sorted sets, `sluice:slots:{backend}` and
// `sluice:slots:{backend}:{model}`, scored by its expiry on Redis's clock:
// taking one checks and adds in one script, so no other instance slips in
// between. A lease is refreshed while its request runs (refresh, from the
// capacity's keeper thread) and given back when it ends; one whose instance
// crashed or hung expires by itself after `slots.lease_ttl_ms`. A slot given
// back is announced on `sluice:slots:freed` for the other instances' queues.
//
// Thread: any; every call is a round trip (blocking, bounded by redis.timeout_ms).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "SlotLimits.h"
#include "sluice/redis/Client.h"
#include "sluice/redis/Script.h"
#include "sluice/redis/Subscriber.h"

namespace sluice::kernel {

class RedisSlots {
public:
    RedisSlots(redis::RedisUrl url, std::chrono::milliseconds timeout, std::chrono::milliseconds leaseTtl);

    static constexpr const char* kFreedChannel = "sluice:slots:freed";

    // Takes a slot for `leaseId` on `backend` (and `model` there) if both
    // have room under `limits`. Throws redis::RedisError when Redis cannot answer.
    bool take(const std::string& backend, const std::string& model, const SlotLimits& limits, const std::string& leaseId);
    // Gives a lease back and announces it. Throws as take.
    void give(const std::string& backend, const std::string& model, const std::string& leaseId);

    struct Held {
        std::string backend;
        std::string model;
        std::string leaseId;
    };
    // Pushes the expiry of every lease in `held` a TTL on. Throws as take.
    void refresh(const std::vector<Held>& held);

    // Leases live on a backend now whose ids do not start with `ownPrefix`:
    // the other instances' share of the fleet's count.
    long long othersInUse(const std::string& backend, const std::string& ownPrefix);

    // Calls `freed` (on its own thread) for each slot another instance gives
    // back, and after each (re)connect, when announcements may have been lost.
    std::unique_ptr<redis::Subscriber> listenForFreed(std::function<void()> freed) const;

    std::chrono::milliseconds leaseTtl() const { return _leaseTtl; }

private:
    static std::string backendKey(const std::string& backend) { return "sluice:slots:{" + backend + "}"; }
    static std::string modelKey(const std::string& backend, const std::string& model) {
        return "sluice:slots:{" + backend + "}:" + model;
    }

    redis::RedisUrl _url;
    std::chrono::milliseconds _timeout;
    redis::Client _client;
    std::chrono::milliseconds _leaseTtl;
    redis::Script _take;
    redis::Script _give;
    redis::Script _refresh;
    redis::Script _count;
};

} // namespace sluice::kernel
