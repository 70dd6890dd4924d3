#pragma once
// argon2id hashing of key secrets (libargon2). The encoded form carries its
// own salt and parameters, so keys made under older settings still verify
// after `auth.argon2.*` changes.

#include <cstdint>
#include <string>

namespace sluice::auth {

struct Argon2Params {
    std::uint32_t timeCost = 3;         // passes
    std::uint32_t memoryKiB = 65536;    // 64 MiB per verify in flight
    std::uint32_t parallelism = 4;      // lanes
};

// The argon2id encoded hash ($argon2id$v=19$m=…,t=…,p=…$salt$hash) of
// `secret` with a fresh 16-byte salt. Throws std::runtime_error on failure.
std::string hashSecret(const std::string& secret, const Argon2Params& params);

enum class SecretCheck {
    Match,
    Mismatch,     // wrong secret, or an encoded hash that does not decode
    Unavailable,  // no memory or thread for argon2 now: says nothing about the key
};
// Compares in constant time inside libargon2.
SecretCheck checkSecret(const std::string& encoded, const std::string& secret);
inline bool verifySecret(const std::string& encoded, const std::string& secret) {
    return checkSecret(encoded, secret) == SecretCheck::Match;
}

} // namespace sluice::auth
