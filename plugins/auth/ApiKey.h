#pragma once
// The API key format and how a key is read from a request's headers.
//
//   slk_<key id>_<secret>      e.g. slk_3hT9aQ0cLm2Z_<43 characters>
//
// "slk_" marks a Sluice key (secret scanners can match it); the key id is 12
// base62 characters, public, and names the key in the store, logs and audit;
// the secret is 32 bytes from the OS CSPRNG written as 43 base62 characters.
// Only an argon2id hash of the secret is stored. Base62 keeps the whole key
// one "word" (a double-click selects it) and safe in any header or shell.
//
// Plain C++ only (no Poco), so the fuzz target can build it with clang alone.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::auth {

inline constexpr std::string_view kKeyPrefix = "slk_";
inline constexpr std::size_t kKeyIdLength = 12;
inline constexpr std::size_t kSecretBytes = 32;
inline constexpr std::size_t kSecretLength = 43;  // base62 digits of a 256-bit number
inline constexpr std::size_t kKeyLength = kKeyPrefix.size() + kKeyIdLength + 1 + kSecretLength;
// Longer header values are malformed without further reading.
inline constexpr std::size_t kMaxCredentialLength = 256;

struct ParsedKey {
    std::string keyId;
    std::string secret;
};

// A well-formed key's parts, or nullopt.
std::optional<ParsedKey> parseApiKey(std::string_view text);

struct NewKey {
    std::string keyId;
    std::string secret;
    std::string text;  // the whole key, shown to the operator once
};

// A fresh key from the OS CSPRNG. Throws std::runtime_error if it has no entropy to give.
NewKey generateApiKey();

// What a request presented. `text` is the credential as sent (for the cache
// digest); `key` is set only when it is well-formed.
struct Credential {
    enum class Kind { Missing, Malformed, WellFormed };
    Kind kind = Kind::Missing;
    std::string text;
    std::optional<ParsedKey> key;
};

// Reads `Authorization: Bearer <key>` (scheme case-insensitive) or, when no
// bearer token is there, `x-api-key: <key>`. Headers have lower-case names.
Credential readCredential(const std::vector<std::pair<std::string, std::string>>& headers);

// n random bytes from the OS CSPRNG (getrandom).
std::string randomBytes(std::size_t n);
// `length` uniformly random base62 digits.
std::string randomBase62(std::size_t length);
// Base62 digits of `bytes` read as one big-endian number, left-padded with
// '0' to `length` characters.
std::string base62(const std::string& bytes, std::size_t length);

} // namespace sluice::auth
