// The API key format: generation, base62, parseApiKey, and readCredential
// reading a key from the Authorization or x-api-key header.
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <cppunit/extensions/HelperMacros.h>

#include "ApiKey.h"

namespace {

using sluice::auth::base62;
using sluice::auth::Credential;
using sluice::auth::generateApiKey;
using sluice::auth::kKeyIdLength;
using sluice::auth::kKeyLength;
using sluice::auth::kMaxCredentialLength;
using sluice::auth::kSecretLength;
using sluice::auth::parseApiKey;
using sluice::auth::readCredential;
using Headers = std::vector<std::pair<std::string, std::string>>;

// A fixed well-formed key: "slk_" + 12 id digits + "_" + 43 secret digits.
const std::string kId = "3hT9aQ0cLm2Z";
const std::string kSecret = "yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1";
const std::string kKey = "slk_" + kId + "_" + kSecret;
const std::string kOtherKey = "slk_AAAAAAAAAAAA_" + std::string(43, 'b');

bool isBase62(const std::string& text) {
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    });
}

class ApiKeyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ApiKeyTest);
    CPPUNIT_TEST(formatConstants);
    CPPUNIT_TEST(generatedKeyParsesBack);
    CPPUNIT_TEST(generatedIdsAreUnique);
    CPPUNIT_TEST(randomBase62HasLengthAndCharset);
    CPPUNIT_TEST(randomBase62IsUnbiased);
    CPPUNIT_TEST(base62OfKnownBytes);
    CPPUNIT_TEST(parseAcceptsWellFormedKey);
    CPPUNIT_TEST(parseRejectsWrongPrefix);
    CPPUNIT_TEST(parseRejectsWrongLength);
    CPPUNIT_TEST(parseRejectsBadSeparator);
    CPPUNIT_TEST(parseRejectsNonBase62);
    CPPUNIT_TEST(parseRejectsControlCharacters);
    CPPUNIT_TEST(bearerInAnyCaseWithExtraSpaces);
    CPPUNIT_TEST(xApiKeyHeader);
    CPPUNIT_TEST(bearerPreferredOverXApiKey);
    CPPUNIT_TEST(nonBearerAuthorizationFallsBackToXApiKey);
    CPPUNIT_TEST(emptyBearerIsMalformed);
    CPPUNIT_TEST(basicAuthorizationIsMalformed);
    CPPUNIT_TEST(wrongFormatTokenIsMalformed);
    CPPUNIT_TEST(hugeKeyIsMalformedWithBoundedText);
    CPPUNIT_TEST(nonAsciiIsMalformed);
    CPPUNIT_TEST(noHeaderIsMissing);
    CPPUNIT_TEST_SUITE_END();

public:
    void formatConstants() {
        CPPUNIT_ASSERT_EQUAL(std::size_t(60), kKeyLength);
        CPPUNIT_ASSERT_EQUAL(kKeyLength, kKey.size());
    }

    void generatedKeyParsesBack() {
        for (int i = 0; i < 50; ++i) {
            const auto key = generateApiKey();
            CPPUNIT_ASSERT_EQUAL(kKeyLength, key.text.size());
            CPPUNIT_ASSERT_EQUAL(kKeyIdLength, key.keyId.size());
            CPPUNIT_ASSERT_EQUAL(kSecretLength, key.secret.size());
            CPPUNIT_ASSERT(isBase62(key.keyId));
            CPPUNIT_ASSERT(isBase62(key.secret));
            CPPUNIT_ASSERT_EQUAL(std::string("slk_"), key.text.substr(0, 4));
            const auto parsed = parseApiKey(key.text);
            CPPUNIT_ASSERT(parsed.has_value());
            CPPUNIT_ASSERT_EQUAL(key.keyId, parsed->keyId);
            CPPUNIT_ASSERT_EQUAL(key.secret, parsed->secret);
        }
    }

    void generatedIdsAreUnique() {
        std::set<std::string> ids;
        std::set<std::string> secrets;
        for (int i = 0; i < 1000; ++i) {
            const auto key = generateApiKey();
            ids.insert(key.keyId);
            secrets.insert(key.secret);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(1000), ids.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1000), secrets.size());
    }

    void randomBase62HasLengthAndCharset() {
        CPPUNIT_ASSERT(sluice::auth::randomBase62(0).empty());
        const auto text = sluice::auth::randomBase62(5000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(5000), text.size());
        CPPUNIT_ASSERT(isBase62(text));
        // 5000 uniform draws over 62 digits hit every digit (miss chance ~ 62 * e^-80).
        CPPUNIT_ASSERT_EQUAL(std::size_t(62), std::set<char>(text.begin(), text.end()).size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(17), sluice::auth::randomBytes(17).size());
    }

    void randomBase62IsUnbiased() {
        // A plain byte % 62 would favour '0'..'7' (5 of 256 byte values each
        // instead of 4): in 62000 draws about 9690 of them instead of 8000.
        // Unbiased, the count has a standard deviation of about 84, so 8500
        // is six deviations away from either side.
        const auto text = sluice::auth::randomBase62(62000);
        const auto low = std::count_if(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
        CPPUNIT_ASSERT_MESSAGE(std::to_string(low), low > 7500 && low < 8500);
    }

    void base62OfKnownBytes() {
        // Expected values computed independently (Python big integers).
        CPPUNIT_ASSERT_EQUAL(std::string(43, '0'), base62(std::string(32, '\0'), 43));
        CPPUNIT_ASSERT_EQUAL(std::string("yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1"),
                             base62(std::string(32, '\xff'), 43));
        CPPUNIT_ASSERT_EQUAL(std::string(42, '0') + "1", base62(std::string(31, '\0') + '\x01', 43));
        CPPUNIT_ASSERT_EQUAL(std::string("T8dgcjRVwXIMmiea"), base62("Hello, world", 0));
        CPPUNIT_ASSERT_EQUAL(std::string("z"), base62("\x3d", 1));
        CPPUNIT_ASSERT_EQUAL(std::string("10"), base62("\x3e", 1));
        CPPUNIT_ASSERT_EQUAL(std::string("0048"), base62(std::string("\x01\x00", 2), 4));
    }

    void parseAcceptsWellFormedKey() {
        const auto parsed = parseApiKey(kKey);
        CPPUNIT_ASSERT(parsed.has_value());
        CPPUNIT_ASSERT_EQUAL(kId, parsed->keyId);
        CPPUNIT_ASSERT_EQUAL(kSecret, parsed->secret);
    }

    void parseRejectsWrongPrefix() {
        CPPUNIT_ASSERT(!parseApiKey("slx_" + kKey.substr(4)));
        CPPUNIT_ASSERT(!parseApiKey("SLK_" + kKey.substr(4)));
        CPPUNIT_ASSERT(!parseApiKey("slk-" + kKey.substr(4)));
        CPPUNIT_ASSERT(!parseApiKey(" slk" + kKey.substr(4)));
    }

    void parseRejectsWrongLength() {
        CPPUNIT_ASSERT(!parseApiKey(kKey + "a"));
        CPPUNIT_ASSERT(!parseApiKey(kKey.substr(0, kKey.size() - 1)));
        // id one shorter, secret one longer: total length right, separator misplaced.
        CPPUNIT_ASSERT(!parseApiKey("slk_" + kId.substr(1) + "_" + kSecret + "a"));
        CPPUNIT_ASSERT(!parseApiKey(""));
        CPPUNIT_ASSERT(!parseApiKey("slk_"));
    }

    void parseRejectsBadSeparator() {
        auto key = kKey;
        for (const char separator : {'-', '.', ':', 'a', '0', ' '}) {
            key[4 + kKeyIdLength] = separator;
            CPPUNIT_ASSERT_MESSAGE(std::string("separator ") + separator, !parseApiKey(key));
        }
    }

    void parseRejectsNonBase62() {
        for (const char bad : {'_', '-', '+', '/', '=', '.', '~', ' '}) {
            auto inId = kKey;
            inId[5] = bad;
            CPPUNIT_ASSERT_MESSAGE(std::string("in id: ") + bad, !parseApiKey(inId));
            auto inSecret = kKey;
            inSecret[kKey.size() - 2] = bad;
            CPPUNIT_ASSERT_MESSAGE(std::string("in secret: ") + bad, !parseApiKey(inSecret));
        }
        auto utf8 = kKey;
        utf8[kKey.size() - 1] = '\xc3';
        CPPUNIT_ASSERT(!parseApiKey(utf8));
    }

    void parseRejectsControlCharacters() {
        for (const char bad : {'\0', '\r', '\n', '\t'}) {
            auto key = kKey;
            key[10] = bad;
            CPPUNIT_ASSERT(!parseApiKey(key));
            key = kKey;
            key[kKey.size() - 1] = bad;
            CPPUNIT_ASSERT(!parseApiKey(key));
        }
    }

    void bearerInAnyCaseWithExtraSpaces() {
        for (const auto& value : {"Bearer " + kKey, "bearer " + kKey, "BEARER " + kKey, "bEaReR " + kKey,
                                        "Bearer    " + kKey + "   ", "  Bearer " + kKey, "Bearer \t" + kKey + "\t"}) {
            const auto credential = readCredential({{"authorization", value}});
            CPPUNIT_ASSERT_MESSAGE(value, credential.kind == Credential::Kind::WellFormed);
            CPPUNIT_ASSERT(credential.key.has_value());
            CPPUNIT_ASSERT_EQUAL(kId, credential.key->keyId);
            CPPUNIT_ASSERT_EQUAL(kSecret, credential.key->secret);
            CPPUNIT_ASSERT_EQUAL(kKey, credential.text);
        }
    }

    void xApiKeyHeader() {
        const auto credential = readCredential({{"content-type", "application/json"}, {"x-api-key", " " + kKey + " "}});
        CPPUNIT_ASSERT(credential.kind == Credential::Kind::WellFormed);
        CPPUNIT_ASSERT_EQUAL(kKey, credential.text);
        CPPUNIT_ASSERT_EQUAL(kId, credential.key->keyId);
        // Header names arrive lower-cased; another spelling is not the header.
        CPPUNIT_ASSERT(readCredential({{"X-Api-Key", kKey}}).kind == Credential::Kind::Missing);
    }

    void bearerPreferredOverXApiKey() {
        const auto credential = readCredential({{"x-api-key", kOtherKey}, {"authorization", "Bearer " + kKey}});
        CPPUNIT_ASSERT(credential.kind == Credential::Kind::WellFormed);
        CPPUNIT_ASSERT_EQUAL(kKey, credential.text);
        CPPUNIT_ASSERT_EQUAL(kId, credential.key->keyId);
        // Even a malformed bearer token wins: the client said which credential it meant.
        const auto malformed = readCredential({{"authorization", "Bearer nope"}, {"x-api-key", kOtherKey}});
        CPPUNIT_ASSERT(malformed.kind == Credential::Kind::Malformed);
        CPPUNIT_ASSERT_EQUAL(std::string("nope"), malformed.text);
    }

    void nonBearerAuthorizationFallsBackToXApiKey() {
        const auto credential = readCredential({{"authorization", "Basic dXNlcjpwYXNz"}, {"x-api-key", kKey}});
        CPPUNIT_ASSERT(credential.kind == Credential::Kind::WellFormed);
        CPPUNIT_ASSERT_EQUAL(kKey, credential.text);
    }

    void emptyBearerIsMalformed() {
        for (const std::string value : {"Bearer ", "Bearer", "Bearer    ", "bearer\t"}) {
            const auto credential = readCredential({{"authorization", value}});
            CPPUNIT_ASSERT_MESSAGE("'" + value + "'", credential.kind == Credential::Kind::Malformed);
            CPPUNIT_ASSERT(!credential.key);
        }
        CPPUNIT_ASSERT(readCredential({{"x-api-key", ""}}).kind == Credential::Kind::Malformed);
        CPPUNIT_ASSERT(readCredential({{"x-api-key", "   "}}).kind == Credential::Kind::Malformed);
    }

    void basicAuthorizationIsMalformed() {
        const auto credential = readCredential({{"authorization", "Basic xxx"}});
        CPPUNIT_ASSERT(credential.kind == Credential::Kind::Malformed);
        CPPUNIT_ASSERT(!credential.key);
        CPPUNIT_ASSERT_EQUAL(std::string("Basic xxx"), credential.text);
        // A bare key without a scheme is not a bearer token either.
        CPPUNIT_ASSERT(readCredential({{"authorization", kKey}}).kind == Credential::Kind::Malformed);
        CPPUNIT_ASSERT(readCredential({{"authorization", "Bearerx " + kKey}}).kind == Credential::Kind::Malformed);
    }

    void wrongFormatTokenIsMalformed() {
        const auto credential = readCredential({{"authorization", "Bearer sk-openai-style-token"}});
        CPPUNIT_ASSERT(credential.kind == Credential::Kind::Malformed);
        CPPUNIT_ASSERT(!credential.key);
        CPPUNIT_ASSERT_EQUAL(std::string("sk-openai-style-token"), credential.text);
        const auto truncated = readCredential({{"x-api-key", kKey.substr(0, 59)}});
        CPPUNIT_ASSERT(truncated.kind == Credential::Kind::Malformed);
        // Two tokens after the scheme are not a key.
        CPPUNIT_ASSERT(readCredential({{"authorization", "Bearer " + kKey + " extra"}}).kind ==
                       Credential::Kind::Malformed);
    }

    void hugeKeyIsMalformedWithBoundedText() {
        const std::string huge = kKey + std::string(10 * 1024, 'a');
        for (const auto& headers : {Headers{{"authorization", "Bearer " + huge}}, Headers{{"x-api-key", huge}},
                                    Headers{{"authorization", "Basic " + huge}}}) {
            const auto credential = readCredential(headers);
            CPPUNIT_ASSERT(credential.kind == Credential::Kind::Malformed);
            CPPUNIT_ASSERT(!credential.key);
            CPPUNIT_ASSERT(!credential.text.empty());
            CPPUNIT_ASSERT(credential.text.size() <= 4 * kMaxCredentialLength);
        }
        // Just over the credential limit is already malformed.
        const auto over = readCredential({{"x-api-key", std::string(kMaxCredentialLength + 1, 'a')}});
        CPPUNIT_ASSERT(over.kind == Credential::Kind::Malformed);
    }

    void nonAsciiIsMalformed() {
        auto key = kKey;
        key.replace(10, 2, "\xc3\xa9");  // same length, an 'é' inside the id
        CPPUNIT_ASSERT_EQUAL(kKeyLength, key.size());
        for (const auto& headers : {Headers{{"authorization", "Bearer " + key}}, Headers{{"x-api-key", key}},
                                    Headers{{"x-api-key", kKey + "\xe2\x80\x8b"}}}) {
            const auto credential = readCredential(headers);
            CPPUNIT_ASSERT(credential.kind == Credential::Kind::Malformed);
            CPPUNIT_ASSERT(!credential.key);
        }
        auto withNul = kKey;
        withNul[20] = '\0';
        CPPUNIT_ASSERT(readCredential({{"x-api-key", withNul}}).kind == Credential::Kind::Malformed);
    }

    void noHeaderIsMissing() {
        const auto none = readCredential({});
        CPPUNIT_ASSERT(none.kind == Credential::Kind::Missing);
        CPPUNIT_ASSERT(none.text.empty());
        CPPUNIT_ASSERT(!none.key);
        const auto others = readCredential({{"content-type", "application/json"}, {"cookie", "a=" + kKey}});
        CPPUNIT_ASSERT(others.kind == Credential::Kind::Missing);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ApiKeyTest);

} // namespace
