#pragma once
// apikey: the production auth stage. A request presents a key (Authorization:
// Bearer or x-api-key); the stage answers with the key's Principal, or one
// identical 401 for every kind of bad key.
//
// Cost: a key seen recently costs a SHA-256 and a cache look-up (in-process,
// then Redis if configured); otherwise one store read and one argon2id verify,
// bounded by auth.max_parallel_verifies. Unknown and malformed keys are
// verified against a dummy hash, so a bad key's 401 takes as long as a real
// key's whatever made it bad: timing says nothing about which keys exist.
// Failures are cached briefly and counted per client address; an address
// over auth.failures_per_ip_per_min gets 429 before any verify.

#include <memory>
#include <semaphore>

#include "ApiKey.h"
#include "AuthSettings.h"
#include "ChangeFeed.h"
#include "FailureLimiter.h"
#include "KeyCache.h"
#include "SharedKeyCache.h"
#include "VerifyFlights.h"
#include "sluice/OutageLog.h"
#include "sluice/Plugin.h"
#include "sluice/store/AuthStore.h"
#include "sluice/store/Database.h"

namespace sluice::auth {

class ApiKeyAuth final : public AuthStage {
public:
    // Opens the store (SQLite: migrating it; PostgreSQL: requiring a current
    // schema) and starts listening for changes. Throws ConfigError. Built for
    // a check (BuildPurpose::Check), only checks the store (store/StoreCheck.h)
    // and opens nothing: such a stage is never asked to authenticate.
    explicit ApiKeyAuth(const StageSetup& setup);
    ~ApiKeyAuth() override;

    Verdict authenticate(RequestContext& ctx) override;
    // A key whose answer is cached (valid or not) is answered from memory;
    // any other needs the store, the shared cache or argon2.
    bool mayBlock(const RequestContext& ctx) const override;

private:
    enum class Checked { Valid, Invalid, Unavailable };
    struct Counters;

    Checked verify(const Credential& credential, const Digest& digest, CachedResult& result);
    Verdict refuseKnown(RequestContext& ctx);
    // A cache miss: the store (or the shared cache) and argon2. `lead` is set
    // when this request verifies for the others waiting on the same credential.
    Verdict authenticateMiss(RequestContext& ctx, const Credential& credential, const Digest& digest,
                             VerifyFlights::Lead* lead);
    Verdict deny(RequestContext& ctx);
    Verdict throttle(RequestContext& ctx, int retryAfterSeconds);
    Verdict unavailable(RequestContext& ctx);
    std::optional<Principal> sharedLookup(const Credential& credential, const Digest& digest);

    AuthSettings _settings;
    Poco::Logger& _log;
    std::unique_ptr<store::Database> _database;
    std::unique_ptr<store::AuthStore> _store;
    mutable KeyCache _cache;  // mayBlock() looks keys up too
    std::unique_ptr<SharedKeyCache> _shared;
    FailureLimiter _failures;
    std::counting_semaphore<256> _verifySlots;
    VerifyFlights _flights;
    std::string _dummyHash;
    std::unique_ptr<Counters> _counters;
    OutageLog _redisOutage;
    OutageLog _storeOutage;
    std::unique_ptr<ChangeFeed> _changes;  // last: stops before what it feeds goes away
};

} // namespace sluice::auth
