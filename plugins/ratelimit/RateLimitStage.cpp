#include "RateLimitStage.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>

#include <unistd.h>

#include "LocalCounterStore.h"
#include "RedisCounterStore.h"
#include "sluice/ConfigError.h"
#include "sluice/TokenEstimate.h"
#include "sluice/redis/RedisSettings.h"

namespace sluice::ratelimit {

namespace {

// What admit() took, for complete() to give back.
struct Taken {
    bool holding = false;  // false when admitted without counting (store down, fail open)
    Ticket ticket;
};
const SlotKey<Taken> kTaken;

// A store override if there is one, else the configured default.
template <class Number>
std::uint64_t effective(const std::optional<Number>& override, std::uint64_t fallback) {
    return override ? *override : fallback;
}

// The scope with the fewest requests (or tokens) left speaks for the answer.
const ScopeView* tightest(const std::vector<ScopeView>& views, bool tokens) {
    const ScopeView* best = nullptr;
    for (const auto& view : views) {
        const auto limit = tokens ? view.tokenLimit : view.requestLimit;
        if (limit == 0) continue;
        const auto left = tokens ? view.tokensRemaining : view.requestsRemaining;
        if (best == nullptr || left < (tokens ? best->tokensRemaining : best->requestsRemaining)) best = &view;
    }
    return best;
}

void addHeaders(RequestContext& ctx, const std::vector<ScopeView>& views) {
    ctx.responseHeaders.reserve(ctx.responseHeaders.size() + 6);  // the six below: one allocation, not one a doubling
    if (const auto* view = tightest(views, false)) {
        ctx.responseHeaders.emplace_back("X-RateLimit-Limit-Requests", std::to_string(view->requestLimit));
        ctx.responseHeaders.emplace_back("X-RateLimit-Remaining-Requests", std::to_string(view->requestsRemaining));
        ctx.responseHeaders.emplace_back("X-RateLimit-Reset-Requests", durationText(view->requestsReset));
    }
    if (const auto* view = tightest(views, true)) {
        ctx.responseHeaders.emplace_back("X-RateLimit-Limit-Tokens", std::to_string(view->tokenLimit));
        ctx.responseHeaders.emplace_back("X-RateLimit-Remaining-Tokens", std::to_string(view->tokensRemaining));
        ctx.responseHeaders.emplace_back("X-RateLimit-Reset-Tokens", durationText(view->tokensReset));
    }
}

// Anthropic refuses a thinking budget that is not below max_tokens, and one
// under 1,024 tokens: after a clamp the budget goes below it, or thinking is
// dropped when that leaves too little to think in.
void fitThinkingBudget(nlohmann::json& body) {
    const auto thinking = body.find("thinking");
    if (thinking == body.end() || !thinking->is_object()) return;
    const auto budget = thinking->find("budget_tokens");
    const auto& maxTokens = body["max_tokens"];
    if (budget == thinking->end() || !budget->is_number() || !maxTokens.is_number_integer()) return;
    const auto limit = maxTokens.get<std::int64_t>();
    if (budget->get<double>() < static_cast<double>(limit)) return;
    constexpr std::int64_t kMinimumBudget = 1024;
    if (limit - 1 < kMinimumBudget) body.erase("thinking");
    else *budget = limit - 1;
}

// Clamps a length field to `max`; sets it when absent or not a sane number.
bool clampLength(nlohmann::json& holder, const char* field, std::int64_t max, bool setWhenAbsent) {
    if (!holder.contains(field)) {
        if (!setWhenAbsent) return false;
        holder[field] = max;
        return true;
    }
    // Ollama's -1 (no limit) and -2 (fill the context) are longer than any
    // clamp; so is anything that is not a number.
    const auto& value = holder[field];
    if (value.is_number()) {
        const auto length = value.get<double>();
        if (std::isfinite(length) && length >= 0 && length <= static_cast<double>(max)) return false;
    }
    holder[field] = max;
    return true;
}

std::string uniqueLeaseId(const std::string& requestId) {
    // The client may choose its request id (and reuse it): the lease id must
    // be unique even then, and across instances sharing Redis.
    static const auto instance = std::to_string(std::random_device{}()) + std::to_string(::getpid());
    static std::atomic<std::uint64_t> sequence{0};
    return requestId + "#" + instance + "." + std::to_string(sequence.fetch_add(1, std::memory_order_relaxed));
}

} // namespace

std::string durationText(Millis duration) {
    auto ms = std::max<std::int64_t>(0, duration.count());
    if (ms < 1000) return std::to_string(ms) + "ms";
    const auto seconds = ms / 1000;
    const auto fraction = ms % 1000;
    std::string secondsText = std::to_string(seconds % 60);
    if (fraction != 0) {
        auto digits = std::to_string(1000 + fraction).substr(1);
        while (digits.back() == '0') digits.pop_back();
        secondsText += "." + digits;
    }
    if (seconds < 60) return secondsText + "s";
    const auto minutes = seconds / 60;
    if (minutes < 60) return std::to_string(minutes) + "m" + secondsText + "s";
    return std::to_string(minutes / 60) + "h" + std::to_string(minutes % 60) + "m" + secondsText + "s";
}

struct RateLimitStage::Counters {
    explicit Counters(MetricsRegistry& metrics)
        : admitted(decision(metrics, "admitted")),
          refusedRequests(decision(metrics, "refused_requests")),
          refusedTokens(decision(metrics, "refused_tokens")),
          refusedConcurrency(decision(metrics, "refused_concurrency")),
          storeErrorOpen(decision(metrics, "store_error_admitted")),
          storeErrorClosed(decision(metrics, "store_error_refused")),
          shaped(metrics.counter("sluice_ratelimit_shaped_total", "Requests whose answer length was clamped or set")) {}

    static Counter& decision(MetricsRegistry& metrics, const std::string& result) {
        return metrics.counter("sluice_ratelimit_decisions_total", "Rate limit admission decisions", {{"result", result}});
    }

    Counter& admitted;
    Counter& refusedRequests;
    Counter& refusedTokens;
    Counter& refusedConcurrency;
    Counter& storeErrorOpen;
    Counter& storeErrorClosed;
    Counter& shaped;
};

namespace {
RateLimitSettings readSettings(const StageSetup& setup) {
    const auto& reader = setup.reader;
    RateLimitSettings settings;
    constexpr std::int64_t kMax = 1'000'000'000'000LL;
    settings.defaultRequestsPerMinute = static_cast<std::uint64_t>(reader.integer("default_rpm", 60, 0, kMax));
    settings.defaultTokensPerMinute = static_cast<std::uint64_t>(reader.integer("default_tpm", 100000, 0, kMax));
    settings.defaultConcurrent = static_cast<std::uint64_t>(reader.integer("default_concurrent", 8, 0, 1'000'000));
    settings.maxNumPredict = reader.integer("max_num_predict", 4096, 0, 10'000'000);
    const auto onError = reader.text("on_store_error", "closed");
    if (onError != "open" && onError != "closed") throw ConfigError(reader.fullKey("on_store_error"), "must be open or closed");
    settings.failOpen = onError == "open";
    settings.leaseTtl = std::chrono::seconds(reader.integer("lease_ttl_s", 600, 10, 86400));
    return settings;
}

std::unique_ptr<CounterStore> storeFor(const StageSetup& setup, const RateLimitSettings& settings) {
    const auto redis = redis::readRedisSettings(setup.services.config());
    if (!redis.url) return std::make_unique<LocalCounterStore>();
    return std::make_unique<RedisCounterStore>(std::make_shared<redis::Client>(*redis.url, redis.timeout),
                                               settings.leaseTtl);
}
} // namespace

RateLimitStage::RateLimitStage(const StageSetup& setup)
    : RateLimitStage(setup, nullptr, readSettings(setup)) {}

RateLimitStage::RateLimitStage(const StageSetup& setup, std::unique_ptr<CounterStore> store, RateLimitSettings settings)
    : _settings(settings),
      _log(setup.services.logger("limits")),
      _store(store ? std::move(store) : storeFor(setup, settings)),
      _counters(std::make_unique<Counters>(setup.services.metrics())),
      _storeOutage(_log, "limits: counter store",
                   _settings.failOpen ? "requests are admitted uncounted (on_store_error = open)"
                                      : "requests are refused with 503 (on_store_error = closed)") {}

RateLimitStage::~RateLimitStage() = default;

std::vector<ScopeLimits> RateLimitStage::scopesFor(const Principal& principal) const {
    std::vector<ScopeLimits> scopes;
    scopes.reserve(2);  // the tenant's and the key's
    auto add = [&](const std::string& scope, const PrincipalLimits& overrides) {
        ScopeLimits limits{scope, effective(overrides.requestsPerMinute, _settings.defaultRequestsPerMinute),
                           effective(overrides.tokensPerMinute, _settings.defaultTokensPerMinute),
                           effective(overrides.concurrentRequests, _settings.defaultConcurrent)};
        if (limits.requestsPerMinute + limits.tokensPerMinute + limits.concurrentRequests > 0) scopes.push_back(limits);
    };
    add("tenant:" + principal.tenant, principal.tenantLimits);
    if (!principal.keyId.empty()) add("key:" + principal.keyId, principal.keyLimits);
    return scopes;
}

Verdict RateLimitStage::admit(RequestContext& ctx) {
    if (!ctx.principal) {
        ctx.refuse(500, "internal error", "internal_error");
        return Verdict::Respond;
    }
    auto& taken = ctx.slot(kTaken);
    taken.ticket = {scopesFor(*ctx.principal), uniqueLeaseId(ctx.requestId)};
    // Before shaping: the bound the client set counts, not the one shape()
    // adds. Only where a token limit applies: it walks the whole prompt.
    const auto& scopes = taken.ticket.scopes;
    if (std::any_of(scopes.begin(), scopes.end(), [](const ScopeLimits& scope) { return scope.tokensPerMinute > 0; }))
        taken.ticket.reservedTokens = reservation(ctx);
    shape(ctx);
    if (scopes.empty()) return Verdict::Continue;
    const auto admission = _store->admit(taken.ticket);
    switch (admission.result) {
    case Admission::Result::Admitted:
        _storeOutage.ok();
        taken.holding = true;
        taken.ticket.reservedSecond = admission.reservedSecond;
        _counters->admitted.inc();
        addHeaders(ctx, admission.views);
        return Verdict::Continue;
    case Admission::Result::Refused: {
        _storeOutage.ok();
        (admission.refusedBy == "tokens"        ? _counters->refusedTokens
         : admission.refusedBy == "concurrency" ? _counters->refusedConcurrency
                                                : _counters->refusedRequests)
            .inc();
        addHeaders(ctx, admission.views);
        const auto seconds = std::max<std::int64_t>(1, (admission.retryAfter.count() + 999) / 1000);
        ctx.responseHeaders.emplace_back("Retry-After", std::to_string(seconds));
        const auto which = admission.refusedScope.rfind("tenant:", 0) == 0 ? "tenant" : "key";
        const std::string what = admission.refusedBy == "concurrency" ? "concurrent requests"
                                 : admission.refusedBy == "tokens"    ? "tokens per minute"
                                                                      : "requests per minute";
        ctx.refuse(429, std::string("rate limit reached for ") + what + " (" + which + "); retry after " +
                            std::to_string(seconds) + " s",
                   "rate_limit_exceeded");
        return Verdict::Respond;
    }
    case Admission::Result::StoreFailed:
        _storeOutage.failed(admission.error);
        if (_settings.failOpen) {
            _counters->storeErrorOpen.inc();
            return Verdict::Continue;
        }
        _counters->storeErrorClosed.inc();
        ctx.responseHeaders.emplace_back("Retry-After", "1");
        ctx.refuse(503, "rate limiting is temporarily unavailable; retry shortly", "rate_limit_unavailable");
        return Verdict::Respond;
    }
    return Verdict::Continue;
}

void RateLimitStage::complete(RequestContext& ctx) noexcept {
    auto& taken = ctx.slot(kTaken);
    if (!taken.holding) return;
    taken.holding = false;
    _store->release(taken.ticket, ctx.usage.promptTokens + ctx.usage.completionTokens);
}

// The client's own bound on the answer, clamped as shape() will clamp it.
// A request without one reserves its prompt only: counting the default that
// shape() adds (limits.max_num_predict, 4096) would hold every such request
// at 4096 tokens until it ends, and cap a default budget (100,000 a minute)
// at some 24 requests in flight.
std::uint64_t RateLimitStage::reservation(const RequestContext& ctx) const {
    const auto bound = [](const nlohmann::json& object, const char* key) -> std::uint64_t {
        if (!object.is_object()) return 0;
        const auto it = object.find(key);
        if (it == object.end() || !it->is_number()) return 0;
        const auto value = it->get<double>();  // -1 and -2 are Ollama's "no bound"
        return value > 0 ? static_cast<std::uint64_t>(std::min(value, 1.0e15)) : 0;
    };
    std::uint64_t answer = 0;
    if (ctx.route.kind == RouteKind::OllamaChat || ctx.route.kind == RouteKind::OllamaGenerate) {
        if (const auto options = ctx.body.find("options"); options != ctx.body.end()) answer = bound(*options, "num_predict");
    } else {
        answer = bound(ctx.body, "max_completion_tokens");
        if (answer == 0) answer = bound(ctx.body, "max_tokens");  // Chat Completions and Anthropic's Messages
        if (answer == 0) answer = bound(ctx.body, "max_output_tokens");  // the Responses API
    }
    if (_settings.maxNumPredict > 0) answer = std::min(answer, static_cast<std::uint64_t>(_settings.maxNumPredict));
    return estimatePromptTokens(ctx.body) + answer;
}

void RateLimitStage::shape(RequestContext& ctx) const {
    const auto max = _settings.maxNumPredict;
    if (max <= 0 || !ctx.body.is_object()) return;
    bool changed = false;
    switch (ctx.route.kind) {
    case RouteKind::OllamaChat:
    case RouteKind::OllamaGenerate: {
        auto& options = ctx.body["options"];
        if (options.is_null()) options = nlohmann::json::object();
        if (options.is_object()) changed = clampLength(options, "num_predict", max, true);
        break;
    }
    case RouteKind::OpenAIChat: {
        const bool hasEither = ctx.body.contains("max_tokens") || ctx.body.contains("max_completion_tokens");
        changed = clampLength(ctx.body, "max_tokens", max, !hasEither);
        changed = clampLength(ctx.body, "max_completion_tokens", max, false) || changed;
        break;
    }
    case RouteKind::OpenAICompletions: changed = clampLength(ctx.body, "max_tokens", max, true); break;
    case RouteKind::AnthropicMessages:
        changed = clampLength(ctx.body, "max_tokens", max, true);
        if (changed) fitThinkingBudget(ctx.body);
        break;
    case RouteKind::OpenAIResponses: changed = clampLength(ctx.body, "max_output_tokens", max, true); break;
    default: break;
    }
    if (changed) {
        ctx.bodyChanged = true;
        _counters->shaped.inc();
    }
}

} // namespace sluice::ratelimit
