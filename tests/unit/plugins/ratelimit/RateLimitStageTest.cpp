// The ratelimit stage against the in-process store: which scopes and limits
// a principal is held to, the answer headers, the 429, giving leases back,
// request shaping, and the duration text of the reset headers.
#include <cppunit/extensions/HelperMacros.h>

#include <tuple>

#include "sluice/testing/FakeServices.h"
#include "LocalCounterStore.h"
#include "RateLimitStage.h"

namespace {

using namespace std::chrono_literals;
using sluice::Principal;
using sluice::RequestContext;
using sluice::RouteKind;
using sluice::Verdict;
using sluice::ratelimit::durationText;
using sluice::ratelimit::LocalCounterStore;
using sluice::ratelimit::RateLimitSettings;
using sluice::ratelimit::RateLimitStage;

std::string headerOf(const RequestContext& ctx, const std::string& name) {
    for (const auto& [key, value] : ctx.responseHeaders)
        if (key == name) return value;
    return "";
}

class RateLimitStageTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RateLimitStageTest);
    CPPUNIT_TEST(defaultsAndOverridesMakeTheScopes);
    CPPUNIT_TEST(anAdmissionCarriesTheTightestHeaders);
    CPPUNIT_TEST(aRefusalIs429WithRetryAfter);
    CPPUNIT_TEST(completeGivesTheLeaseBackOnce);
    CPPUNIT_TEST(ollamaLengthIsClampedOrSet);
    CPPUNIT_TEST(openAiLengthIsClampedOrSet);
    CPPUNIT_TEST(anthropicLengthAndThinkingBudget);
    CPPUNIT_TEST(embeddingsAreNotShaped);
    CPPUNIT_TEST(durationsReadLikeOpenAIs);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _settings = RateLimitSettings{};
        _settings.defaultRequestsPerMinute = 60;
        _settings.defaultTokensPerMinute = 1000;
        _settings.defaultConcurrent = 2;
    }

    void defaultsAndOverridesMakeTheScopes() {
        auto stage = make();
        auto principal = keyPrincipal();
        principal.tenantLimits.requestsPerMinute = 600;
        principal.keyLimits.concurrentRequests = 0;  // unlimited by the operator's word
        const auto scopes = stage->scopesFor(principal);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), scopes.size());
        CPPUNIT_ASSERT_EQUAL(std::string("tenant:team"), scopes[0].scope);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(600), scopes[0].requestsPerMinute);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1000), scopes[0].tokensPerMinute);
        CPPUNIT_ASSERT_EQUAL(std::string("key:k1"), scopes[1].scope);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(60), scopes[1].requestsPerMinute);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), scopes[1].concurrentRequests);
        principal.keyId.clear();  // allow-all: no key scope
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), stage->scopesFor(principal).size());
    }

    void anAdmissionCarriesTheTightestHeaders() {
        auto stage = make();
        auto principal = keyPrincipal();
        principal.keyLimits.requestsPerMinute = 5;
        RequestContext ctx;
        prepare(ctx, principal, RouteKind::OllamaChat);
        CPPUNIT_ASSERT(stage->admit(ctx) == Verdict::Continue);
        CPPUNIT_ASSERT_EQUAL(std::string("5"), headerOf(ctx, "X-RateLimit-Limit-Requests"));
        CPPUNIT_ASSERT_EQUAL(std::string("4"), headerOf(ctx, "X-RateLimit-Remaining-Requests"));
        CPPUNIT_ASSERT_EQUAL(std::string("1000"), headerOf(ctx, "X-RateLimit-Limit-Tokens"));
        CPPUNIT_ASSERT_EQUAL(std::string("1000"), headerOf(ctx, "X-RateLimit-Remaining-Tokens"));
        CPPUNIT_ASSERT(!headerOf(ctx, "X-RateLimit-Reset-Requests").empty());
        stage->complete(ctx);
    }

    void aRefusalIs429WithRetryAfter() {
        auto stage = make();
        auto principal = keyPrincipal();
        principal.keyLimits.requestsPerMinute = 1;
        RequestContext first;
        prepare(first, principal, RouteKind::OpenAIChat);
        CPPUNIT_ASSERT(stage->admit(first) == Verdict::Continue);
        stage->complete(first);
        RequestContext second;
        prepare(second, principal, RouteKind::OpenAIChat);
        CPPUNIT_ASSERT(stage->admit(second) == Verdict::Respond);
        CPPUNIT_ASSERT_EQUAL(429, second.reply.status);
        CPPUNIT_ASSERT_EQUAL(std::string("rate_limit_exceeded"), second.reply.code);
        const auto wait = std::stoi(headerOf(second, "Retry-After"));
        CPPUNIT_ASSERT(wait >= 1 && wait <= 60);
        CPPUNIT_ASSERT_EQUAL(std::string("0"), headerOf(second, "X-RateLimit-Remaining-Requests"));
    }

    void completeGivesTheLeaseBackOnce() {
        auto store = std::make_unique<LocalCounterStore>();
        auto* counts = store.get();
        auto stage = make(std::move(store));
        RequestContext ctx;
        prepare(ctx, keyPrincipal(), RouteKind::OllamaChat);
        CPPUNIT_ASSERT(stage->admit(ctx) == Verdict::Continue);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), counts->leasesHeld("key:k1"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), counts->leasesHeld("tenant:team"));
        ctx.usage.promptTokens = 30;
        ctx.usage.completionTokens = 20;
        stage->complete(ctx);
        stage->complete(ctx);  // a second call must not release someone else's lease
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), counts->leasesHeld("key:k1"));
        RequestContext next;
        prepare(next, keyPrincipal(), RouteKind::OllamaChat);
        CPPUNIT_ASSERT(stage->admit(next) == Verdict::Continue);
        CPPUNIT_ASSERT_EQUAL(std::string("950"), headerOf(next, "X-RateLimit-Remaining-Tokens"));
        stage->complete(next);
    }

    void ollamaLengthIsClampedOrSet() {
        _settings.maxNumPredict = 100;
        auto stage = make();
        for (const auto& [body, expected] : std::vector<std::pair<std::string, int>>{
                 {R"({"model":"m"})", 100},
                 {R"({"model":"m","options":{"num_predict":5000}})", 100},
                 {R"({"model":"m","options":{"num_predict":-1}})", 100},
                 {R"({"model":"m","options":{"num_predict":50,"temperature":0.2}})", 50}}) {
            RequestContext ctx;
            prepare(ctx, keyPrincipal(), RouteKind::OllamaChat);
            ctx.body = nlohmann::json::parse(body);
            CPPUNIT_ASSERT(stage->admit(ctx) == Verdict::Continue);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, expected, ctx.body["options"]["num_predict"].get<int>());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, expected != 50, ctx.bodyChanged);
            stage->complete(ctx);
        }
    }

    void openAiLengthIsClampedOrSet() {
        _settings.maxNumPredict = 100;
        auto stage = make();
        RequestContext absent;
        prepare(absent, keyPrincipal(), RouteKind::OpenAIChat);
        absent.body = {{"model", "m"}};
        stage->admit(absent);
        CPPUNIT_ASSERT_EQUAL(100, absent.body["max_tokens"].get<int>());
        CPPUNIT_ASSERT(!absent.body.contains("max_completion_tokens"));
        stage->complete(absent);

        RequestContext both;
        prepare(both, keyPrincipal(), RouteKind::OpenAIChat);
        both.body = {{"model", "m"}, {"max_completion_tokens", 9000}};
        stage->admit(both);
        CPPUNIT_ASSERT_EQUAL(100, both.body["max_completion_tokens"].get<int>());
        CPPUNIT_ASSERT(!both.body.contains("max_tokens"));
        stage->complete(both);

        RequestContext completions;
        prepare(completions, keyPrincipal(), RouteKind::OpenAICompletions);
        completions.body = {{"model", "m"}, {"max_tokens", 7}};
        stage->admit(completions);
        CPPUNIT_ASSERT_EQUAL(7, completions.body["max_tokens"].get<int>());
        CPPUNIT_ASSERT(!completions.bodyChanged);
        stage->complete(completions);
    }

    // Anthropic's max_tokens is clamped like the others, and a thinking
    // budget follows it below, or goes when too little is left to think in.
    void anthropicLengthAndThinkingBudget() {
        _settings.maxNumPredict = 4096;
        auto stage = make();
        for (const auto& [body, maxTokens, budget] : std::vector<std::tuple<std::string, int, int>>{
                 {R"({"model":"m","max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":10000}})", 4096, 4095},
                 {R"({"model":"m","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":1500}})", 2000, 1500},
                 {R"({"model":"m","max_tokens":9000})", 4096, -1}}) {
            RequestContext ctx;
            prepare(ctx, keyPrincipal(), RouteKind::AnthropicMessages);
            ctx.body = nlohmann::json::parse(body);
            CPPUNIT_ASSERT(stage->admit(ctx) == Verdict::Continue);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, maxTokens, ctx.body["max_tokens"].get<int>());
            if (budget > 0) CPPUNIT_ASSERT_EQUAL_MESSAGE(body, budget, ctx.body["thinking"]["budget_tokens"].get<int>());
            stage->complete(ctx);
        }
        _settings.maxNumPredict = 1000;
        auto small = make();
        RequestContext ctx;
        prepare(ctx, keyPrincipal(), RouteKind::AnthropicMessages);
        ctx.body = nlohmann::json::parse(R"({"model":"m","max_tokens":32000,"thinking":{"type":"enabled","budget_tokens":10000}})");
        small->admit(ctx);
        CPPUNIT_ASSERT_EQUAL(1000, ctx.body["max_tokens"].get<int>());
        CPPUNIT_ASSERT(!ctx.body.contains("thinking"));
        small->complete(ctx);
        // The Responses API's bound is max_output_tokens.
        RequestContext responses;
        prepare(responses, keyPrincipal(), RouteKind::OpenAIResponses);
        responses.body = {{"model", "m"}, {"input", "hi"}};
        small->admit(responses);
        CPPUNIT_ASSERT_EQUAL(1000, responses.body["max_output_tokens"].get<int>());
        small->complete(responses);
    }

    void embeddingsAreNotShaped() {
        auto stage = make();
        RequestContext ctx;
        prepare(ctx, keyPrincipal(), RouteKind::OllamaEmbed);
        ctx.body = {{"model", "m"}, {"input", "hi"}};
        stage->admit(ctx);
        CPPUNIT_ASSERT(!ctx.bodyChanged);
        CPPUNIT_ASSERT(!ctx.body.contains("options"));
        stage->complete(ctx);
    }

    void durationsReadLikeOpenAIs() {
        CPPUNIT_ASSERT_EQUAL(std::string("0ms"), durationText(0ms));
        CPPUNIT_ASSERT_EQUAL(std::string("250ms"), durationText(250ms));
        CPPUNIT_ASSERT_EQUAL(std::string("1s"), durationText(1000ms));
        CPPUNIT_ASSERT_EQUAL(std::string("1.5s"), durationText(1500ms));
        CPPUNIT_ASSERT_EQUAL(std::string("6m0s"), durationText(360000ms));
        CPPUNIT_ASSERT_EQUAL(std::string("1m0.02s"), durationText(60020ms));
        CPPUNIT_ASSERT_EQUAL(std::string("1h0m1s"), durationText(3601000ms));
    }

private:
    std::unique_ptr<RateLimitStage> make(std::unique_ptr<sluice::ratelimit::CounterStore> store = nullptr) {
        if (!store) store = std::make_unique<LocalCounterStore>();
        const sluice::StageSetup setup{"ratelimit", _services.config(), sluice::ConfigReader(_services.config(), "limits."),
                                       _services};
        return std::make_unique<RateLimitStage>(setup, std::move(store), _settings);
    }

    static Principal keyPrincipal() {
        Principal principal;
        principal.tenant = "team";
        principal.keyId = "k1";
        principal.allowAllModels = true;
        return principal;
    }

    void prepare(RequestContext& ctx, const Principal& principal, RouteKind kind) {
        ctx.requestId = "r" + std::to_string(++_requests);
        ctx.principal = principal;
        ctx.route.kind = kind;
        ctx.body = {{"model", "m"}};
    }

    sluice::testing::FakeServices _services;
    RateLimitSettings _settings;
    int _requests = 0;
};

CPPUNIT_TEST_SUITE_REGISTRATION(RateLimitStageTest);

} // namespace
