// KeyCache: hits, misses, expiry, LRU eviction within a shard, the epoch
// that drops a store() racing an invalidation, and invalidation by subject.
#include <chrono>
#include <string>

#include <cppunit/extensions/HelperMacros.h>

#include "KeyCache.h"

namespace {

using namespace std::chrono_literals;
using sluice::auth::CachedResult;
using sluice::auth::Digest;
using sluice::auth::digestOf;
using sluice::auth::KeyCache;

const KeyCache::Clock::time_point kNow = KeyCache::Clock::time_point(1000h);

// A digest in shard `shard` (digest[0] % 16), told apart by `serial`.
Digest digestIn(unsigned char shard, unsigned serial) {
    Digest digest{};
    digest[0] = shard;
    digest[8] = static_cast<unsigned char>(serial);
    digest[9] = static_cast<unsigned char>(serial >> 8);
    digest[31] = static_cast<unsigned char>(serial);
    return digest;
}

CachedResult validFor(const std::string& keyId, const std::string& tenant,
                      KeyCache::Clock::time_point expiresAt = kNow + 60s) {
    CachedResult result;
    result.valid = true;
    result.keyId = keyId;
    result.tenant = tenant;
    result.principal.keyId = keyId;
    result.principal.tenant = tenant;
    result.expiresAt = expiresAt;
    return result;
}

class KeyCacheTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(KeyCacheTest);
    CPPUNIT_TEST(digestIsSha256);
    CPPUNIT_TEST(hitReturnsStoredResult);
    CPPUNIT_TEST(missForUnknownDigest);
    CPPUNIT_TEST(failuresAreCachedToo);
    CPPUNIT_TEST(expiredEntryIsAMissAndIsDropped);
    CPPUNIT_TEST(storeReplacesEntry);
    CPPUNIT_TEST(leastRecentlyUsedIsEvictedAtCapacity);
    CPPUNIT_TEST(otherShardsKeepTheirEntries);
    CPPUNIT_TEST(storeAfterInvalidationIsDropped);
    CPPUNIT_TEST(invalidateByKeyId);
    CPPUNIT_TEST(invalidateByTenant);
    CPPUNIT_TEST(invalidateAnythingElseDropsAll);
    CPPUNIT_TEST_SUITE_END();

public:
    void digestIsSha256() {
        CPPUNIT_ASSERT_EQUAL(std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                             sluice::auth::hex(digestOf("")));
        CPPUNIT_ASSERT_EQUAL(std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
                             sluice::auth::hex(digestOf("abc")));
    }

    void hitReturnsStoredResult() {
        KeyCache cache(100);
        const auto digest = digestOf("slk_key");
        cache.store(digest, validFor("id1", "acme"), cache.epoch());
        const auto found = cache.find(digest, kNow);
        CPPUNIT_ASSERT(found.has_value());
        CPPUNIT_ASSERT(found->valid);
        CPPUNIT_ASSERT_EQUAL(std::string("id1"), found->keyId);
        CPPUNIT_ASSERT_EQUAL(std::string("acme"), found->principal.tenant);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.size());
    }

    void missForUnknownDigest() {
        KeyCache cache(100);
        CPPUNIT_ASSERT(!cache.find(digestOf("anything"), kNow));
        cache.store(digestOf("one"), validFor("id1", "acme"), cache.epoch());
        CPPUNIT_ASSERT(!cache.find(digestOf("two"), kNow));
        CPPUNIT_ASSERT(cache.find(digestOf("one"), kNow));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.size());
    }

    void failuresAreCachedToo() {
        KeyCache cache(100);
        CachedResult failure;
        failure.valid = false;
        failure.expiresAt = kNow + 10s;
        cache.store(digestOf("bad"), failure, cache.epoch());
        const auto found = cache.find(digestOf("bad"), kNow);
        CPPUNIT_ASSERT(found.has_value());
        CPPUNIT_ASSERT(!found->valid);
    }

    void expiredEntryIsAMissAndIsDropped() {
        KeyCache cache(100);
        const auto digest = digestOf("slk_key");
        cache.store(digest, validFor("id1", "acme", kNow + 60s), cache.epoch());
        CPPUNIT_ASSERT(cache.find(digest, kNow + 59s));
        // Expiry is exclusive: at expiresAt the entry is gone.
        CPPUNIT_ASSERT(!cache.find(digest, kNow + 60s));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), cache.size());
        // ...and stays gone even when asked with an earlier time.
        CPPUNIT_ASSERT(!cache.find(digest, kNow));
    }

    void storeReplacesEntry() {
        KeyCache cache(100);
        const auto digest = digestOf("slk_key");
        cache.store(digest, validFor("id1", "acme"), cache.epoch());
        cache.store(digest, validFor("id1", "other"), cache.epoch());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.size());
        CPPUNIT_ASSERT_EQUAL(std::string("other"), cache.find(digest, kNow)->tenant);
    }

    void leastRecentlyUsedIsEvictedAtCapacity() {
        KeyCache cache(48);  // 3 per shard
        const auto a = digestIn(5, 1);
        const auto b = digestIn(21, 2);  // 21 % 16 == 5: same shard
        const auto c = digestIn(5, 3);
        const auto d = digestIn(37, 4);  // 37 % 16 == 5
        cache.store(a, validFor("a", "t"), cache.epoch());
        cache.store(b, validFor("b", "t"), cache.epoch());
        cache.store(c, validFor("c", "t"), cache.epoch());
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), cache.size());
        // Touch a: b is now the least recently used.
        CPPUNIT_ASSERT(cache.find(a, kNow));
        cache.store(d, validFor("d", "t"), cache.epoch());
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), cache.size());
        CPPUNIT_ASSERT(!cache.find(b, kNow));
        CPPUNIT_ASSERT(cache.find(a, kNow));
        CPPUNIT_ASSERT(cache.find(c, kNow));
        CPPUNIT_ASSERT(cache.find(d, kNow));
        // Next to go is c (a and d were found after it).
        CPPUNIT_ASSERT(cache.find(a, kNow));
        CPPUNIT_ASSERT(cache.find(d, kNow));
        cache.store(digestIn(5, 9), validFor("e", "t"), cache.epoch());
        CPPUNIT_ASSERT(!cache.find(c, kNow));
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), cache.size());
    }

    void otherShardsKeepTheirEntries() {
        KeyCache cache(16);  // 1 per shard
        for (unsigned shard = 0; shard < 16; ++shard)
            cache.store(digestIn(static_cast<unsigned char>(shard), shard), validFor("k", "t"), cache.epoch());
        CPPUNIT_ASSERT_EQUAL(std::size_t(16), cache.size());
        cache.store(digestIn(16, 100), validFor("k", "t"), cache.epoch());  // shard 0 again
        CPPUNIT_ASSERT_EQUAL(std::size_t(16), cache.size());
        CPPUNIT_ASSERT(!cache.find(digestIn(0, 0), kNow));
        CPPUNIT_ASSERT(cache.find(digestIn(16, 100), kNow));
        for (unsigned shard = 1; shard < 16; ++shard)
            CPPUNIT_ASSERT(cache.find(digestIn(static_cast<unsigned char>(shard), shard), kNow));
        // A capacity below the shard count still holds one entry per shard.
        KeyCache tiny(1);
        tiny.store(digestIn(0, 1), validFor("k", "t"), tiny.epoch());
        tiny.store(digestIn(1, 2), validFor("k", "t"), tiny.epoch());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), tiny.size());
    }

    void storeAfterInvalidationIsDropped() {
        KeyCache cache(100);
        const auto digest = digestOf("slk_key");
        const auto before = cache.epoch();
        // The store look-up is in flight when the key is revoked...
        cache.invalidate("key:id1");
        CPPUNIT_ASSERT(cache.epoch() != before);
        // ...so its result must not be cached.
        cache.store(digest, validFor("id1", "acme"), before);
        CPPUNIT_ASSERT(!cache.find(digest, kNow));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), cache.size());
        // Even an invalidation of something else retires the old epoch.
        const auto again = cache.epoch();
        cache.invalidate("tenant:other");
        cache.store(digest, validFor("id1", "acme"), again);
        CPPUNIT_ASSERT(!cache.find(digest, kNow));
        // A look-up that started after the invalidation is kept.
        cache.store(digest, validFor("id1", "acme"), cache.epoch());
        CPPUNIT_ASSERT(cache.find(digest, kNow));
    }

    void invalidateByKeyId() {
        KeyCache cache(100);
        cache.store(digestOf("k1"), validFor("id1", "acme"), cache.epoch());
        cache.store(digestOf("k1-typo"), validFor("id1", "acme"), cache.epoch());
        cache.store(digestOf("k2"), validFor("id2", "acme"), cache.epoch());
        cache.store(digestOf("k3"), validFor("id10", "acme"), cache.epoch());
        cache.invalidate("key:id1");
        CPPUNIT_ASSERT(!cache.find(digestOf("k1"), kNow));
        CPPUNIT_ASSERT(!cache.find(digestOf("k1-typo"), kNow));
        CPPUNIT_ASSERT(cache.find(digestOf("k2"), kNow));
        CPPUNIT_ASSERT(cache.find(digestOf("k3"), kNow));  // exact id, not a prefix
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), cache.size());
    }

    void invalidateByTenant() {
        KeyCache cache(100);
        cache.store(digestOf("k1"), validFor("id1", "acme"), cache.epoch());
        cache.store(digestOf("k2"), validFor("id2", "acme"), cache.epoch());
        cache.store(digestOf("k3"), validFor("id3", "globex"), cache.epoch());
        cache.store(digestOf("k4"), validFor("id4", "acme-labs"), cache.epoch());
        cache.invalidate("tenant:acme");
        CPPUNIT_ASSERT(!cache.find(digestOf("k1"), kNow));
        CPPUNIT_ASSERT(!cache.find(digestOf("k2"), kNow));
        CPPUNIT_ASSERT(cache.find(digestOf("k3"), kNow));
        CPPUNIT_ASSERT(cache.find(digestOf("k4"), kNow));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), cache.size());
    }

    void invalidateAnythingElseDropsAll() {
        for (const std::string subject : {"*", "", "all", "keys:id1", "Key:id1"}) {
            KeyCache cache(100);
            cache.store(digestOf("k1"), validFor("id1", "acme"), cache.epoch());
            cache.store(digestOf("k2"), validFor("id2", "globex"), cache.epoch());
            CPPUNIT_ASSERT_EQUAL(std::size_t(2), cache.size());
            cache.invalidate(subject);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(subject, std::size_t(0), cache.size());
            CPPUNIT_ASSERT(!cache.find(digestOf("k1"), kNow));
        }
        KeyCache cache(100);
        cache.store(digestOf("k1"), validFor("id1", "acme"), cache.epoch());
        const auto before = cache.epoch();
        cache.clear();
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), cache.size());
        CPPUNIT_ASSERT(cache.epoch() != before);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(KeyCacheTest);

} // namespace
