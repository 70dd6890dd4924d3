#pragma once
// The in-process cache of verification results, so a known key costs a
// SHA-256 and a map look-up instead of an argon2id verify.
//
// Entries are keyed by the SHA-256 of the credential as presented, never the
// credential itself. Positive entries live `ttl` (or until the key or tenant
// expires, if sooner); failures live a shorter `failureTtl`, so a flood of
// one bad key costs one verify. Bounded: least recently used entries go first.
// Sharded 16 ways so request threads rarely wait on one another.
// Thread: every method may be called from any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sluice/Principal.h"

namespace sluice::auth {

using Digest = std::array<unsigned char, 32>;
Digest digestOf(std::string_view text);
std::string hex(const Digest& digest);

struct CachedResult {
    bool valid = false;
    Principal principal;  // when valid
    std::string keyId;    // when known: invalidation by key
    std::string tenant;   // when known: invalidation by tenant
    std::chrono::steady_clock::time_point expiresAt;
};

class KeyCache {
public:
    using Clock = std::chrono::steady_clock;

    explicit KeyCache(std::size_t capacity);

    std::optional<CachedResult> find(const Digest& digest, Clock::time_point now = Clock::now());

    // The invalidation epoch: read it before looking a key up in the store,
    // hand it to store(); a result that raced an invalidation is dropped.
    std::uint64_t epoch() const { return _epoch.load(std::memory_order_acquire); }
    void store(const Digest& digest, CachedResult result, std::uint64_t epochAtStart);

    // Drops what a change subject names: "key:ID", "tenant:NAME"; anything
    // else drops everything.
    void invalidate(const std::string& subject);
    void clear();
    std::size_t size() const;

private:
    struct DigestHash {
        std::size_t operator()(const Digest& digest) const noexcept;
    };
    struct Shard {
        mutable std::mutex mutex;
        std::list<std::pair<Digest, CachedResult>> recency;  // most recent first
        std::unordered_map<Digest, std::list<std::pair<Digest, CachedResult>>::iterator, DigestHash> index;
    };
    static constexpr std::size_t kShards = 16;

    Shard& shardFor(const Digest& digest) { return _shards[digest[0] % kShards]; }
    template <typename Predicate>
    void eraseIf(Predicate matches);

    std::size_t _capacityPerShard;
    std::array<Shard, kShards> _shards;
    std::atomic<std::uint64_t> _epoch{0};
    // Serialises invalidations with stores, so a store that checked the epoch
    // cannot land after an invalidation that it missed.
    mutable std::mutex _invalidationMutex;
};

} // namespace sluice::auth
