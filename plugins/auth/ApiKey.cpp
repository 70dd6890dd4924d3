#include "ApiKey.h"

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include <sys/random.h>

namespace sluice::auth {

namespace {
constexpr std::string_view kDigits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool isBase62(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    });
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// Printable ASCII without spaces: anything else (NUL, CR, LF, UTF-8) is not a key.
bool plausibleToken(std::string_view token) {
    return !token.empty() && token.size() <= kMaxCredentialLength &&
           std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

const std::string* findHeader(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
    for (const auto& [key, value] : headers)
        if (key == name) return &value;
    return nullptr;
}

Credential classify(std::string_view token) {
    Credential credential;
    credential.text.assign(token.substr(0, std::min(token.size(), kMaxCredentialLength * 4)));
    credential.kind = Credential::Kind::Malformed;
    if (!plausibleToken(token)) return credential;
    credential.key = parseApiKey(token);
    if (credential.key) credential.kind = Credential::Kind::WellFormed;
    return credential;
}
} // namespace

std::optional<ParsedKey> parseApiKey(std::string_view text) {
    if (text.size() != kKeyLength || text.substr(0, kKeyPrefix.size()) != kKeyPrefix) return std::nullopt;
    const auto id = text.substr(kKeyPrefix.size(), kKeyIdLength);
    const auto separator = text[kKeyPrefix.size() + kKeyIdLength];
    const auto secret = text.substr(kKeyPrefix.size() + kKeyIdLength + 1);
    if (separator != '_' || !isBase62(id) || !isBase62(secret)) return std::nullopt;
    return ParsedKey{std::string(id), std::string(secret)};
}

std::string randomBytes(std::size_t n) {
    std::string out(n, '\0');
    std::size_t filled = 0;
    while (filled < n) {
        const auto got = ::getrandom(out.data() + filled, n - filled, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error("the OS random source failed");
        }
        filled += static_cast<std::size_t>(got);
    }
    return out;
}

std::string base62(const std::string& bytes, std::size_t length) {
    // Schoolbook division of the big-endian number by 62; inputs are 32 bytes.
    std::vector<unsigned> number(bytes.begin(), bytes.end());
    for (auto& digit : number) digit &= 0xffU;
    std::string out;
    while (!number.empty()) {
        unsigned remainder = 0;
        std::vector<unsigned> quotient;
        for (const auto digit : number) {
            const unsigned value = remainder * 256 + digit;
            if (!quotient.empty() || value / 62 != 0) quotient.push_back(value / 62);
            remainder = value % 62;
        }
        out.push_back(kDigits[remainder]);
        number.swap(quotient);
    }
    while (out.size() < length) out.push_back('0');
    std::reverse(out.begin(), out.end());
    return out;
}

std::string randomBase62(std::size_t length) {
    // Rejection sampling: bytes below 248 (4 x 62) map evenly onto the digits.
    std::string out;
    while (out.size() < length) {
        for (const char byte : randomBytes(length)) {
            const auto value = static_cast<unsigned char>(byte);
            if (value < 248 && out.size() < length) out.push_back(kDigits[value % 62]);
        }
    }
    return out;
}

NewKey generateApiKey() {
    NewKey key;
    key.keyId = randomBase62(kKeyIdLength);
    key.secret = base62(randomBytes(kSecretBytes), kSecretLength);
    key.text = std::string(kKeyPrefix) + key.keyId + "_" + key.secret;
    return key;
}

Credential readCredential(const std::vector<std::pair<std::string, std::string>>& headers) {
    const auto* authorization = findHeader(headers, "authorization");
    if (authorization != nullptr) {
        const auto value = trimmed(*authorization);
        const auto space = value.find(' ');
        if (space != std::string_view::npos && equalsIgnoreCase(value.substr(0, space), "bearer"))
            return classify(trimmed(value.substr(space + 1)));
    }
    if (const auto* apiKey = findHeader(headers, "x-api-key")) return classify(trimmed(*apiKey));
    // An Authorization header that is not a bearer token (Basic, an empty
    // "Bearer") is a malformed credential, not a missing one.
    if (authorization != nullptr) {
        Credential malformed;
        malformed.kind = Credential::Kind::Malformed;
        malformed.text = authorization->substr(0, kMaxCredentialLength * 4);
        return malformed;
    }
    return {};
}

} // namespace sluice::auth
