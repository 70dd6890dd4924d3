#include "ApiKeyAuth.h"

#include "Grants.h"
#include "sluice/ConfigError.h"
#include "sluice/redis/RedisError.h"
#include "sluice/store/Migrations.h"
#include "sluice/store/StoreCheck.h"
#include "sluice/store/StoreError.h"

namespace sluice::auth {

namespace {
// One message for every bad key: unknown, malformed, expired, revoked,
// disabled. Which it was is in the audit trail, never in the answer.
constexpr const char* kInvalidKey = "invalid or missing API key";
// A request that waits this long for a verify slot gets 503 rather than
// holding its connection while a flood drains.
constexpr auto kVerifyQueueWait = std::chrono::seconds(10);

// The id a malformed credential is looked up under: not base62, so no key has it.
constexpr const char* kNoSuchKeyId = "!malformed!!";

std::string lookupId(const Credential& credential) { return credential.key ? credential.key->keyId : kNoSuchKeyId; }

std::chrono::steady_clock::time_point steadyAt(long long epochSeconds) {
    const auto fromNow = std::chrono::seconds(epochSeconds - store::storeNow());
    return std::chrono::steady_clock::now() + fromNow;
}
} // namespace

struct ApiKeyAuth::Counters {
    explicit Counters(MetricsRegistry& metrics)
        : cacheHits(count(metrics, "cache_hit")),
          sharedHits(count(metrics, "shared_cache_hit")),
          verified(count(metrics, "verified")),
          denied(count(metrics, "denied")),
          throttled(count(metrics, "throttled")),
          unavailable(count(metrics, "unavailable")),
          verifySeconds(metrics.histogram("sluice_auth_verify_seconds",
                                          "Time of one store read and argon2id verify (cache misses)")) {}

    static Counter& count(MetricsRegistry& metrics, const std::string& result) {
        return metrics.counter("sluice_auth_requests_total", "Authentication outcomes", {{"result", result}});
    }

    Counter& cacheHits;
    Counter& sharedHits;
    Counter& verified;
    Counter& denied;
    Counter& throttled;
    Counter& unavailable;
    Histogram& verifySeconds;
};

ApiKeyAuth::ApiKeyAuth(const StageSetup& setup)
    : _settings(readAuthSettings(setup.services.config())),
      _log(setup.services.logger("auth")),
      _cache(_settings.cacheSize),
      _failures(_settings.failuresPerAddressPerMinute),
      _verifySlots(static_cast<std::ptrdiff_t>(_settings.maxParallelVerifies)),
      _counters(std::make_unique<Counters>(setup.services.metrics())),
      _redisOutage(_log, "auth: Redis shared cache", "verifying against the store meanwhile", false),
      _storeOutage(_log, "auth: store", "only cached keys are accepted meanwhile") {
    if (setup.purpose == BuildPurpose::Check) {
        try {
            store::checkStore(_settings.store);
        } catch (const store::StoreError& e) {
            throw ConfigError("store.url", e.what());
        }
        return;
    }
    try {
        _database = std::make_unique<store::Database>(_settings.store);
        if (_settings.store.engine == store::Engine::SQLite) {
            for (const auto& applied : store::migrate(*_database))
                _log.information("auth: store migrated to schema version " + std::to_string(applied.version) + " (" +
                                 applied.description + ")");
        }
        store::requireCurrentSchema(*_database);
        _store = std::make_unique<store::AuthStore>(*_database);
    } catch (const store::StoreError& e) {
        throw ConfigError("store.url", e.what());
    }
    // A dummy hash with the configured cost: unknown and malformed keys are
    // verified against it, so their 401 costs what a real key's does.
    _dummyHash = hashSecret(generateApiKey().secret, _settings.argon2);
    if (_settings.redis)
        _shared = std::make_unique<SharedKeyCache>(
            std::make_shared<redis::Client>(*_settings.redis, _settings.redisTimeout), _settings.cacheTtl);
    _changes = std::make_unique<ChangeFeed>(_settings, *_store, _cache, _shared.get(), _log);
    _log.information("auth: apikey with store " + _settings.store.display() +
                     (_settings.redis ? ", shared cache " + _settings.redis->display() : std::string()));
}

ApiKeyAuth::~ApiKeyAuth() { _changes.reset(); }

namespace {
// A malformed credential may carry a valid key's text (`Authorization:
// <key>` without "Bearer"): it gets its own digest, so its cached failure
// never answers for the well-formed key.
Digest cacheDigestOf(const Credential& credential) {
    return digestOf(credential.kind == Credential::Kind::WellFormed ? credential.text : "malformed:" + credential.text);
}
} // namespace

bool ApiKeyAuth::mayBlock(const RequestContext& ctx) const {
    // An entry about to expire counts as gone: authenticate() comes right
    // after, and must find what this found. (One revoked or evicted in
    // between is looked up the slow way, where the request runs; rare.)
    constexpr auto kMargin = std::chrono::seconds(1);
    const auto credential = readCredential(ctx.headers);
    return credential.kind != Credential::Kind::Missing &&
           !_cache.find(cacheDigestOf(credential), std::chrono::steady_clock::now() + kMargin);
}

Verdict ApiKeyAuth::authenticate(RequestContext& ctx) {
    const auto credential = readCredential(ctx.headers);
    const auto digest = cacheDigestOf(credential);

    const auto cached =
        credential.kind == Credential::Kind::Missing ? std::optional<CachedResult>() : _cache.find(digest);
    if (cached && cached->valid) {
        _counters->cacheHits.inc();
        ctx.principal = cached->principal;
        return Verdict::Continue;
    }
    if (credential.kind == Credential::Kind::Missing || cached) return refuseKnown(ctx);

    // A cache miss. If the same credential is being verified right now,
    // its outcome answers this request too (see VerifyFlights).
    auto flight = _flights.joinOrLead(digest);
    if (auto* leader = std::get_if<std::shared_future<VerifyFlights::Outcome>>(&flight)) {
        if (leader->wait_for(kVerifyQueueWait) != std::future_status::ready) return unavailable(ctx);
        if (const auto& principal = leader->get()) {
            _counters->cacheHits.inc();  // answered without a verify of its own
            ctx.principal = *principal;
            return Verdict::Continue;
        }
        // Not valid. A refusal the leader cached answers this request as it
        // would any known failure, without a verify of its own.
        if (const auto known = _cache.find(digest); known && !known->valid) return refuseKnown(ctx);
        return authenticateMiss(ctx, credential, digest, nullptr);  // throttled or unavailable: its own way
    }
    return authenticateMiss(ctx, credential, digest, &std::get<VerifyFlights::Lead>(flight));
}

// A known failure (a cached refusal, or no credential): counted against the
// address like any failed attempt.
Verdict ApiKeyAuth::refuseKnown(RequestContext& ctx) {
    if (const auto wait = _failures.admitAttempt(ctx.clientAddress)) return throttle(ctx, *wait);
    return deny(ctx);
}

Verdict ApiKeyAuth::authenticateMiss(RequestContext& ctx, const Credential& credential, const Digest& digest,
                                     VerifyFlights::Lead* lead) {
    // The attempt counts as a failure of this address from now on, and is
    // forgiven if the key proves valid: concurrent bad keys cannot all pass.
    if (const auto wait = _failures.admitAttempt(ctx.clientAddress)) return throttle(ctx, *wait);

    if (const auto principal = sharedLookup(credential, digest)) {
        _failures.forgive(ctx.clientAddress);
        _counters->sharedHits.inc();
        ctx.principal = *principal;
        if (lead) lead->finish(*principal);
        return Verdict::Continue;
    }

    CachedResult result;
    switch (verify(credential, digest, result)) {
    case Checked::Valid:
        _failures.forgive(ctx.clientAddress);
        _counters->verified.inc();
        ctx.principal = result.principal;
        if (lead) lead->finish(result.principal);
        return Verdict::Continue;
    case Checked::Invalid: return deny(ctx);
    case Checked::Unavailable:
        _failures.forgive(ctx.clientAddress);  // not the client's doing
        return unavailable(ctx);
    }
    return deny(ctx);
}

std::optional<Principal> ApiKeyAuth::sharedLookup(const Credential& credential, const Digest& digest) {
    if (!_shared) return std::nullopt;
    const auto epoch = _cache.epoch();
    try {
        // A malformed key makes the same round trip, under an id no key has.
        auto entry = _shared->find(lookupId(credential), digest);
        _redisOutage.ok();
        if (!entry || !credential.key) return std::nullopt;
        // Trusted here no longer than the entry's writer trusted it.
        const auto until = std::min(std::chrono::steady_clock::now() + _settings.cacheTtl, steadyAt(entry->until));
        if (_settings.cacheTtl.count() > 0)
            _cache.store(digest, {true, entry->principal, entry->principal.keyId, entry->principal.tenant, until}, epoch);
        return entry->principal;
    } catch (const redis::RedisError& e) {
        _redisOutage.failed(e.what());
        return std::nullopt;
    }
}

ApiKeyAuth::Checked ApiKeyAuth::verify(const Credential& credential, const Digest& digest, CachedResult& result) {
    const auto epoch = _cache.epoch();
    std::string generation;
    if (_shared) {
        try {
            generation = _shared->generation();
        } catch (const redis::RedisError& e) {
            _redisOutage.failed(e.what());
        }
    }
    if (!_verifySlots.try_acquire_for(kVerifyQueueWait)) return Checked::Unavailable;
    struct SlotRelease {
        std::counting_semaphore<256>& slots;
        ~SlotRelease() { slots.release(); }
    };
    const auto started = std::chrono::steady_clock::now();
    std::optional<store::KeyAndTenant> found;
    bool secretMatches = false;
    {
        const SlotRelease release{_verifySlots};
        try {
            // A malformed key reads the store too, under an id no key has.
            found = _store->findKey(lookupId(credential));
            if (!credential.key) found.reset();
            _storeOutage.ok();
        } catch (const store::StoreError& e) {
            _storeOutage.failed(e.what());
            return Checked::Unavailable;
        }
        const auto& secret = credential.key ? credential.key->secret : credential.text;
        const auto check = checkSecret(found ? found->key.secretHash : _dummyHash, secret);
        if (check == SecretCheck::Unavailable) {
            _storeOutage.ok();
            _log.error("auth: argon2 could not run (out of memory or threads); answering 503");
            return Checked::Unavailable;
        }
        secretMatches = check == SecretCheck::Match;
    }
    _counters->verifySeconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());

    const auto now = store::storeNow();
    const bool valid = found && secretMatches && found->key.state(now) == store::KeyState::Active &&
                       found->tenant.enabled && (found->tenant.expiresAt == 0 || found->tenant.expiresAt > now);
    result.valid = valid;
    if (found) {
        result.keyId = found->key.keyId;
        result.tenant = found->tenant.name;
    }
    if (valid) {
        result.principal = principalFor(*found);
        result.expiresAt = std::chrono::steady_clock::now() + _settings.cacheTtl;
        if (found->key.expiresAt != 0) result.expiresAt = std::min(result.expiresAt, steadyAt(found->key.expiresAt));
        if (found->tenant.expiresAt != 0) result.expiresAt = std::min(result.expiresAt, steadyAt(found->tenant.expiresAt));
    } else {
        result.expiresAt = std::chrono::steady_clock::now() + _settings.failureCacheTtl;
    }
    const bool cacheable = valid ? _settings.cacheTtl.count() > 0 : _settings.failureCacheTtl.count() > 0;
    if (cacheable) _cache.store(digest, result, epoch);

    if (!valid) return Checked::Invalid;
    if (_shared && !generation.empty()) {
        const auto left = std::chrono::duration_cast<std::chrono::seconds>(result.expiresAt - std::chrono::steady_clock::now());
        try {
            if (left.count() > 0)
                _shared->store(result.keyId, digest, result.principal, generation, left,
                               store::storeNow() + left.count());
        } catch (const redis::RedisError& e) {
            _redisOutage.failed(e.what());
        }
    }
    try {
        _store->touchKey(result.keyId, now);
    } catch (const store::StoreError&) {
        // "Last used" is informational; a busy store must not fail the request.
    }
    return Checked::Valid;
}

Verdict ApiKeyAuth::deny(RequestContext& ctx) {
    _counters->denied.inc();
    ctx.responseHeaders.emplace_back("WWW-Authenticate", "Bearer realm=\"sluice\"");
    ctx.refuse(401, kInvalidKey, "invalid_api_key");
    return Verdict::Respond;
}

Verdict ApiKeyAuth::throttle(RequestContext& ctx, int retryAfterSeconds) {
    _counters->throttled.inc();
    ctx.responseHeaders.emplace_back("Retry-After", std::to_string(retryAfterSeconds));
    ctx.refuse(429, "too many failed authentication attempts from this address; retry later", "rate_limit_exceeded");
    return Verdict::Respond;
}

Verdict ApiKeyAuth::unavailable(RequestContext& ctx) {
    _counters->unavailable.inc();
    ctx.responseHeaders.emplace_back("Retry-After", "1");
    ctx.refuse(503, "authentication is temporarily unavailable; retry shortly", "auth_unavailable");
    return Verdict::Respond;
}

} // namespace sluice::auth
