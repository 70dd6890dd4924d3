// argon2id hashing of key secrets: round trip, wrong secrets, damaged hashes,
// fresh salts, and parameters carried in the encoded form. Small parameters
// keep the suite fast; the encoding is the same at any cost.
#include <stdexcept>
#include <string>

#include <cppunit/extensions/HelperMacros.h>

#include "KeyHasher.h"

namespace {

using sluice::auth::Argon2Params;
using sluice::auth::hashSecret;
using sluice::auth::verifySecret;

const Argon2Params kCheap{1, 1024, 1};
const std::string kSecret = "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1";

class KeyHasherTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(KeyHasherTest);
    CPPUNIT_TEST(defaultParams);
    CPPUNIT_TEST(hashThenVerify);
    CPPUNIT_TEST(wrongSecretDoesNotVerify);
    CPPUNIT_TEST(garbageHashDoesNotVerify);
    CPPUNIT_TEST(sameSecretHashesDifferently);
    CPPUNIT_TEST(encodedFormCarriesParams);
    CPPUNIT_TEST(hashUnderOtherParamsStillVerifies);
    CPPUNIT_TEST(impossibleParamsThrow);
    CPPUNIT_TEST_SUITE_END();

public:
    void defaultParams() {
        const Argon2Params params;
        CPPUNIT_ASSERT_EQUAL(3U, params.timeCost);
        CPPUNIT_ASSERT_EQUAL(65536U, params.memoryKiB);
        CPPUNIT_ASSERT_EQUAL(4U, params.parallelism);
    }

    void hashThenVerify() {
        const auto encoded = hashSecret(kSecret, kCheap);
        CPPUNIT_ASSERT(verifySecret(encoded, kSecret));
        CPPUNIT_ASSERT(encoded.find(kSecret) == std::string::npos);
        // An empty secret hashes and verifies like any other.
        CPPUNIT_ASSERT(verifySecret(hashSecret("", kCheap), ""));
    }

    void wrongSecretDoesNotVerify() {
        const auto encoded = hashSecret(kSecret, kCheap);
        auto oneOff = kSecret;
        oneOff.back() = '2';
        CPPUNIT_ASSERT(!verifySecret(encoded, oneOff));
        CPPUNIT_ASSERT(!verifySecret(encoded, kSecret.substr(1)));
        CPPUNIT_ASSERT(!verifySecret(encoded, kSecret + "a"));
        CPPUNIT_ASSERT(!verifySecret(encoded, ""));
        // A secret with a NUL is compared in full, not as a C string.
        CPPUNIT_ASSERT(!verifySecret(hashSecret(std::string("ab\0cd", 5), kCheap), "ab"));
    }

    void garbageHashDoesNotVerify() {
        const auto encoded = hashSecret(kSecret, kCheap);
        CPPUNIT_ASSERT(!verifySecret("", kSecret));
        CPPUNIT_ASSERT(!verifySecret("not a hash", kSecret));
        CPPUNIT_ASSERT(!verifySecret("$argon2id$", kSecret));
        CPPUNIT_ASSERT(!verifySecret(encoded.substr(0, encoded.size() / 2), kSecret));
        // The same hash labelled argon2i is not an argon2id hash.
        auto relabelled = encoded;
        relabelled.replace(0, 9, "$argon2i$");
        CPPUNIT_ASSERT(!verifySecret(relabelled, kSecret));
        // A changed character in the hash part.
        auto flipped = encoded;
        flipped[flipped.size() - 3] = flipped[flipped.size() - 3] == 'A' ? 'B' : 'A';
        CPPUNIT_ASSERT(!verifySecret(flipped, kSecret));
    }

    void sameSecretHashesDifferently() {
        const auto first = hashSecret(kSecret, kCheap);
        const auto second = hashSecret(kSecret, kCheap);
        CPPUNIT_ASSERT(first != second);
        // The salt (fourth '$' field) differs, not just the output.
        const auto saltOf = [](const std::string& encoded) {
            std::size_t start = 0;
            for (int i = 0; i < 4; ++i) start = encoded.find('$', start) + 1;
            return encoded.substr(start, encoded.find('$', start) - start);
        };
        CPPUNIT_ASSERT(!saltOf(first).empty());
        CPPUNIT_ASSERT(saltOf(first) != saltOf(second));
        CPPUNIT_ASSERT(verifySecret(first, kSecret) && verifySecret(second, kSecret));
    }

    void encodedFormCarriesParams() {
        const auto encoded = hashSecret(kSecret, Argon2Params{2, 2048, 2});
        CPPUNIT_ASSERT_EQUAL(std::string("$argon2id$"), encoded.substr(0, 10));
        CPPUNIT_ASSERT_MESSAGE(encoded, encoded.find("$v=19$") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(encoded, encoded.find("$m=2048,t=2,p=2$") != std::string::npos);
        const auto cheap = hashSecret(kSecret, kCheap);
        CPPUNIT_ASSERT_MESSAGE(cheap, cheap.find("$m=1024,t=1,p=1$") != std::string::npos);
    }

    void hashUnderOtherParamsStillVerifies() {
        // Keys made before auth.argon2.* changed keep working: the hash carries its own parameters.
        const auto older = hashSecret(kSecret, Argon2Params{2, 2048, 2});
        const auto newer = hashSecret(kSecret, kCheap);
        CPPUNIT_ASSERT(verifySecret(older, kSecret));
        CPPUNIT_ASSERT(verifySecret(newer, kSecret));
    }

    void impossibleParamsThrow() {
        // libargon2 wants at least 8 KiB per lane and at least one pass.
        CPPUNIT_ASSERT_THROW(hashSecret(kSecret, Argon2Params{0, 1024, 1}), std::runtime_error);
        CPPUNIT_ASSERT_THROW(hashSecret(kSecret, Argon2Params{1, 8, 4}), std::runtime_error);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(KeyHasherTest);

} // namespace
