#pragma once
// Verified keys shared through Redis, so a key verified on one instance costs
// the others a round trip instead of an argon2id verify.
//
//   sluice:auth:key:<key id>   JSON {digest, generation, principal}, expires after the cache TTL
//   sluice:auth:generation     a counter bumped by every tenant or key change
//   sluice:auth:changes        pub/sub channel carrying "key:ID" / "tenant:NAME"
//
// The entry holds the SHA-256 of the whole key, never the key; a look-up
// must present a key with the same digest. An entry counts only while the
// generation it was written under is still current, so an instance that read
// the store just before a revocation cannot re-publish the revoked key: the
// revocation bumps the generation after its commit, and the stale entry is
// ignored wherever it is read. Redis failures are never fatal: the caller
// falls back to the store and an argon2 verify.
// Thread: every method may be called from any thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "KeyCache.h"
#include "sluice/Principal.h"
#include "sluice/redis/Client.h"

namespace sluice::auth {

inline constexpr const char* kRedisChangesChannel = "sluice:auth:changes";
inline constexpr const char* kRedisGenerationKey = "sluice:auth:generation";
std::string redisEntryKey(const std::string& keyId);

class SharedKeyCache {
public:
    SharedKeyCache(std::shared_ptr<redis::Client> client, std::chrono::seconds ttl);

    struct Entry {
        Principal principal;
        long long until = 0;  // seconds since the epoch: the writer's trust ends (TTL, key or tenant expiry)
    };
    // The entry if Redis holds a current one for this key and digest.
    // Throws redis::RedisError when Redis cannot be asked.
    std::optional<Entry> find(const std::string& keyId, const Digest& digest);
    // Read before the store look-up whose result store() will publish.
    std::string generation();
    void store(const std::string& keyId, const Digest& digest, const Principal& principal,
               const std::string& generation, std::chrono::seconds ttl, long long until);
    // What an instance does when the store tells it of a change: retires the
    // key's entry (or, for a tenant, every entry) itself, so a revocation
    // holds even when sluicectl could not reach Redis.
    void retire(const std::string& subject);

private:
    std::shared_ptr<redis::Client> _client;
    std::chrono::seconds _ttl;
};

// What `sluicectl` does after changing tenants or keys: drop the named keys'
// entries, bump the generation (which retires every other entry), and tell
// running instances the subjects changed. Throws redis::RedisError.
void announceChanges(redis::Client& client, const std::vector<std::string>& keyIds,
                     const std::vector<std::string>& subjects);

// A Principal as JSON and back, for the shared entry.
std::string principalToJson(const Principal& principal);
Principal principalFromJson(const std::string& text);

} // namespace sluice::auth
