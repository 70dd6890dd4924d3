#pragma once
// ratelimit: the production limits stage. Requests per minute, tokens per
// minute and concurrent requests, each per key and per tenant; the limits
// come from the principal (store overrides) or the configured defaults, and
// the stricter of tenant and key applies because both scopes must admit.
// Counts live in a CounterStore: in-process, or Redis when `redis.url` is set.
//
// It also shapes requests: the answer length (`num_predict`, `max_tokens`,
// `max_completion_tokens`) is clamped to `limits.max_num_predict`, and set
// to it when absent, so one request cannot spend a tenant's minute of tokens.

#include <memory>

#include "CounterStore.h"
#include "sluice/OutageLog.h"
#include "sluice/Plugin.h"

namespace sluice::ratelimit {

struct RateLimitSettings {
    std::uint64_t defaultRequestsPerMinute = 60;
    std::uint64_t defaultTokensPerMinute = 100000;
    std::uint64_t defaultConcurrent = 8;
    std::int64_t maxNumPredict = 4096;  // 0: no shaping
    bool failOpen = false;              // limits.on_store_error = open
    std::chrono::seconds leaseTtl{600};
};

class RateLimitStage final : public LimitsStage {
public:
    // Reads limits.* (and redis.url); throws ConfigError.
    explicit RateLimitStage(const StageSetup& setup);
    // For tests: a given store and settings.
    RateLimitStage(const StageSetup& setup, std::unique_ptr<CounterStore> store, RateLimitSettings settings);
    ~RateLimitStage() override;

    Verdict admit(RequestContext& ctx) override;
    void complete(RequestContext& ctx) noexcept override;
    // In-process counters never block; Redis's round trips may.
    bool mayBlock(const RequestContext&) const override { return _store->remote(); }

    // The scopes and limits a principal is held to (tests).
    std::vector<ScopeLimits> scopesFor(const Principal& principal) const;

private:
    struct Counters;
    void shape(RequestContext& ctx) const;
    // The tokens a request may spend, charged at admission: its prompt (estimated) and its answer's bound.
    std::uint64_t reservation(const RequestContext& ctx) const;

    RateLimitSettings _settings;
    Poco::Logger& _log;
    std::unique_ptr<CounterStore> _store;
    std::unique_ptr<Counters> _counters;
    OutageLog _storeOutage;
};

// Go-style durations as OpenAI's x-ratelimit-reset-* headers carry them: "250ms", "1s", "6m0s".
std::string durationText(Millis duration);

} // namespace sluice::ratelimit
