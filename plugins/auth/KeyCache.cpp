#include "KeyCache.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <openssl/evp.h>

namespace sluice::auth {

// libcrypto, not Poco's SHA2Engine: every request hashes its key twice
// (mayBlock, then authenticate), and Poco's portable C cost about 9,500
// instructions a hash where libcrypto's assembly costs 5,500 (fewer still
// on a CPU with SHA extensions).
Digest digestOf(std::string_view text) {
    // Fetched once: OpenSSL 3 otherwise looks the algorithm up by name on
    // every call.
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    Digest digest{};
    if (sha256 == nullptr || EVP_Digest(text.data(), text.size(), digest.data(), nullptr, sha256, nullptr) != 1)
        throw std::runtime_error("SHA-256 is not available from libcrypto");
    return digest;
}

std::string hex(const Digest& digest) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(digest.size() * 2);
    for (const auto byte : digest) {
        out.push_back(kHex[byte >> 4]);
        out.push_back(kHex[byte & 0xf]);
    }
    return out;
}

std::size_t KeyCache::DigestHash::operator()(const Digest& digest) const noexcept {
    std::size_t value = 0;
    std::memcpy(&value, digest.data() + 8, sizeof value);
    return value;
}

KeyCache::KeyCache(std::size_t capacity) : _capacityPerShard(std::max<std::size_t>(1, capacity / kShards)) {}

std::optional<CachedResult> KeyCache::find(const Digest& digest, Clock::time_point now) {
    auto& shard = shardFor(digest);
    std::lock_guard lock(shard.mutex);
    const auto found = shard.index.find(digest);
    if (found == shard.index.end()) return std::nullopt;
    if (found->second->second.expiresAt <= now) {
        shard.recency.erase(found->second);
        shard.index.erase(found);
        return std::nullopt;
    }
    shard.recency.splice(shard.recency.begin(), shard.recency, found->second);
    return found->second->second;
}

void KeyCache::store(const Digest& digest, CachedResult result, std::uint64_t epochAtStart) {
    std::lock_guard guard(_invalidationMutex);
    if (epoch() != epochAtStart) return;
    auto& shard = shardFor(digest);
    std::lock_guard lock(shard.mutex);
    if (const auto found = shard.index.find(digest); found != shard.index.end()) {
        shard.recency.erase(found->second);
        shard.index.erase(found);
    }
    shard.recency.emplace_front(digest, std::move(result));
    shard.index.emplace(digest, shard.recency.begin());
    while (shard.recency.size() > _capacityPerShard) {
        shard.index.erase(shard.recency.back().first);
        shard.recency.pop_back();
    }
}

template <typename Predicate>
void KeyCache::eraseIf(Predicate matches) {
    for (auto& shard : _shards) {
        std::lock_guard lock(shard.mutex);
        for (auto it = shard.recency.begin(); it != shard.recency.end();) {
            if (matches(it->second)) {
                shard.index.erase(it->first);
                it = shard.recency.erase(it);
            } else {
                ++it;
            }
        }
    }
}

void KeyCache::invalidate(const std::string& subject) {
    std::lock_guard guard(_invalidationMutex);
    _epoch.fetch_add(1, std::memory_order_acq_rel);
    static const std::string kKey = "key:";
    static const std::string kTenant = "tenant:";
    if (subject.rfind(kKey, 0) == 0) {
        const auto keyId = subject.substr(kKey.size());
        eraseIf([&](const CachedResult& entry) { return entry.keyId == keyId; });
    } else if (subject.rfind(kTenant, 0) == 0) {
        const auto tenant = subject.substr(kTenant.size());
        eraseIf([&](const CachedResult& entry) { return entry.tenant == tenant; });
    } else {
        eraseIf([](const CachedResult&) { return true; });
    }
}

void KeyCache::clear() { invalidate("*"); }

std::size_t KeyCache::size() const {
    std::size_t total = 0;
    for (const auto& shard : _shards) {
        std::lock_guard lock(shard.mutex);
        total += shard.recency.size();
    }
    return total;
}

} // namespace sluice::auth
