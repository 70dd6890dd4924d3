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

// Whether `secret` matches `encoded` (constant-time compare inside libargon2).
// A malformed encoded hash is simply false.
bool verifySecret(const std::string& encoded, const std::string& secret);

} // namespace sluice::auth
