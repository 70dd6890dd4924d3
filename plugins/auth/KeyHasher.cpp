#include "KeyHasher.h"

#include <stdexcept>
#include <vector>

#include <argon2.h>

#include "ApiKey.h"

namespace sluice::auth {

namespace {
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
} // namespace

std::string hashSecret(const std::string& secret, const Argon2Params& params) {
    const auto salt = randomBytes(kSaltBytes);
    std::vector<char> encoded(argon2_encodedlen(params.timeCost, params.memoryKiB, params.parallelism, kSaltBytes,
                                                kHashBytes, Argon2_id));
    const int rc = argon2id_hash_encoded(params.timeCost, params.memoryKiB, params.parallelism, secret.data(),
                                         secret.size(), salt.data(), salt.size(), kHashBytes, encoded.data(),
                                         encoded.size());
    if (rc != ARGON2_OK) throw std::runtime_error(std::string("argon2id: ") + argon2_error_message(rc));
    return std::string(encoded.data());
}

SecretCheck checkSecret(const std::string& encoded, const std::string& secret) {
    switch (argon2id_verify(encoded.c_str(), secret.data(), secret.size())) {
    case ARGON2_OK: return SecretCheck::Match;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
    case ARGON2_THREAD_FAIL: return SecretCheck::Unavailable;
    default: return SecretCheck::Mismatch;
    }
}

} // namespace sluice::auth
