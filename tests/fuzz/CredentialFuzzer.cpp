// libFuzzer target for what a client controls before any key is verified:
// the Authorization / x-api-key header values read by readCredential, and
// parseApiKey on raw bytes. Aborts on any broken invariant, so the sanitizers
// and the invariants below both count as crashes.
//
// Input layout: byte 0 picks the headers (low two bits: authorization only,
// x-api-key only, both, both plus unrelated headers; bit 2 puts x-api-key
// first; bit 3 prefixes "Bearer " to the authorization value); the rest is
// split at the first 0xff byte into the authorization value and the
// x-api-key value (without one, both get the whole rest).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ApiKey.h"

namespace {

using sluice::auth::Credential;
using namespace sluice::auth;

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
}

void check(bool condition, const char* what) {
    if (!condition) violated(what);
}

bool isBase62(std::string_view text) {
    for (const char c : text)
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
    return true;
}

// What every parsed key must look like, however it was found.
void checkParsedKey(const ParsedKey& key) {
    check(key.keyId.size() == kKeyIdLength, "key id length");
    check(key.secret.size() == kSecretLength, "secret length");
    check(isBase62(key.keyId), "key id is base62");
    check(isBase62(key.secret), "secret is base62");
}

void checkParse(std::string_view text) {
    const auto parsed = parseApiKey(text);
    if (!parsed) return;
    check(text.size() == kKeyLength, "parsed text has the key length");
    check(text.substr(0, kKeyPrefix.size()) == kKeyPrefix, "parsed text has the prefix");
    checkParsedKey(*parsed);
    // The parts put back together are the text.
    check(std::string(kKeyPrefix) + parsed->keyId + "_" + parsed->secret == text, "parts rebuild the key");
}

void checkCredential(const Credential& credential) {
    check(credential.text.size() <= 4 * kMaxCredentialLength, "text is bounded");
    switch (credential.kind) {
    case Credential::Kind::WellFormed:
        check(credential.key.has_value(), "well-formed has a key");
        check(credential.text.size() == kKeyLength, "well-formed text is one key");
        checkParsedKey(*credential.key);
        check(std::string(kKeyPrefix) + credential.key->keyId + "_" + credential.key->secret == credential.text,
              "well-formed text is the key");
        // Whatever readCredential accepted, parseApiKey accepts on its own.
        check(parseApiKey(credential.text).has_value(), "well-formed text parses");
        break;
    case Credential::Kind::Malformed:
        check(!credential.key.has_value(), "malformed has no key");
        break;
    case Credential::Kind::Missing:
        check(!credential.key.has_value(), "missing has no key");
        check(credential.text.empty(), "missing has no text");
        break;
    default:
        violated("unknown kind");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    checkParse(all);
    if (size == 0) return 0;

    const auto choice = data[0];
    const auto rest = all.substr(1);
    const auto split = rest.find('\xff');
    std::string authorization(split == std::string_view::npos ? rest : rest.substr(0, split));
    const std::string apiKey(split == std::string_view::npos ? rest : rest.substr(split + 1));
    if (choice & 0x08) authorization.insert(0, "Bearer ");

    std::vector<std::pair<std::string, std::string>> headers;
    switch (choice & 0x03) {
    case 0:
        headers.emplace_back("authorization", authorization);
        break;
    case 1:
        headers.emplace_back("x-api-key", apiKey);
        break;
    case 2:
        headers.emplace_back("authorization", authorization);
        headers.emplace_back("x-api-key", apiKey);
        break;
    default:
        headers.emplace_back("content-type", "application/json");
        headers.emplace_back("authorization", authorization);
        headers.emplace_back("x-api-key", apiKey);
        headers.emplace_back("cookie", apiKey);
        break;
    }
    if (choice & 0x04) std::swap(headers.front(), headers.back());

    const auto credential = readCredential(headers);
    checkCredential(credential);
    checkParse(authorization);
    checkParse(apiKey);

    // Every layout above sends authorization or x-api-key: something was presented.
    check(credential.kind != Credential::Kind::Missing, "a header means not missing");
    // Without either header nothing is.
    checkCredential(readCredential({{"content-type", authorization}, {"x-api-key-2", apiKey}}));
    check(readCredential({{"content-type", authorization}}).kind == Credential::Kind::Missing, "no header is missing");
    return 0;
}
