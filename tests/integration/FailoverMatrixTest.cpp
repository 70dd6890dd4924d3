// The failover proof matrix (docs/routing.md, "When a provider misbehaves"):
// each way a provider misbehaves, with the primary and its fallback on the
// SAME backend (alias `same`: a/llama3.2 then a/qwen2.5:0.5b) and on
// DIFFERENT backends (alias `split`: a/llama3.2 then b/qwen2.5:0.5b). Each
// case checks the attempts the primary's fake saw and what the client
// received, and prints the time taken (a line per case on stderr, the
// figures in docs/routing.md). Time is asserted only as a lower bound a wait
// guarantees, never as an upper one.

#include <chrono>
#include <cstdio>
#include <thread>

#include <cppunit/extensions/HelperMacros.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "ScratchDir.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {
constexpr const char* kPrimary = "llama3.2:latest";
constexpr const char* kFallback = "qwen2.5:0.5b";

// What one request through an alias came to.
struct Case {
    HttpResult answer;
    int primaryAttempts = 0;  // requests the primary model's fake saw for it
    double seconds = 0;
    std::string served() const { return answer.header("x-sluice-model"); }
};

nlohmann::json onPrimary(nlohmann::json rule) {
    rule["model"] = "llama3.2";
    return rule;
}
} // namespace

class FailoverMatrixTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FailoverMatrixTest);
    CPPUNIT_TEST(a429WithRetryAfterIsWaitedForAndRetried);
    CPPUNIT_TEST(a429AskingLongerThanMaxWaitFailsOverAtOnce);
    CPPUNIT_TEST(a429WithoutRetryAfterIsRetriedWithBackoffThenFailsOver);
    CPPUNIT_TEST(a500OnceIsRetriedOnTheSameCandidate);
    CPPUNIT_TEST(a503PersistentFailsOverAfterItsRetries);
    CPPUNIT_TEST(aResetBeforeTheHeadersIsRetriedThenRulesOutTheBackend);
    CPPUNIT_TEST(noAnswerAtAllFailsOverAfterFirstByteMs);
    CPPUNIT_TEST(aColdModelIsGivenColdLoadMs);
    CPPUNIT_TEST(aFirstTokenAfter20SecondsIsServedWithTheDefaults);
    CPPUNIT_TEST(requestMsBoundsTheWholeSearch);
    CPPUNIT_TEST(contextLengthFailsOverOnlyWhenTheAliasSaysSo);
    CPPUNIT_TEST(contentPolicyReachesTheCallerUnlessTheAliasSaysSo);
    CPPUNIT_TEST(theFallbacksModelAndUsageReachTheClient);
    CPPUNIT_TEST(aPrimaryDownThenHealthyIsSkippedThenTakenBack);
    CPPUNIT_TEST(aBrokenStreamEndsWithAnErrorAndIsNotRetried);
    CPPUNIT_TEST(aBrokenStreamIsContinuedWithoutRepeatingText);
    CPPUNIT_TEST(aContinuedOpenAiStreamReportsBothParts);
    CPPUNIT_TEST(anOpenAiStreamWithoutDoneIsWholeOnlyIfItFinished);
    CPPUNIT_TEST(aRefusedContinuationGivesTheOriginalFailure);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _dir = std::make_unique<ScratchDir>("sluice-failover-matrix");
        _a = std::make_unique<FakeBackend>("ollama", "one");
        _b = std::make_unique<FakeBackend>("ollama", "two");
    }
    void tearDown() override {
        _gateway.reset();
        _a.reset();
        _b.reset();
        _dir.reset();
    }

    void a429WithRetryAfterIsWaitedForAndRetried() {
        start();
        for (const char* alias : {"same", "split"}) {
            const auto result = run(alias, {onPrimary({{"status", 429}, {"retry_after", 1}, {"times", 1}})});
            report("429, Retry-After: 1, once", alias, result);
            CPPUNIT_ASSERT_EQUAL(200, result.answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string(kPrimary), result.served());
            CPPUNIT_ASSERT_EQUAL(2, result.primaryAttempts);
            CPPUNIT_ASSERT(result.seconds >= 1.0);  // the backend's wait was honoured
        }
        CPPUNIT_ASSERT(metrics().find("sluice_retries_total{backend=\"a\",reason=\"status_429\"} 2") != std::string::npos);
    }

    void a429AskingLongerThanMaxWaitFailsOverAtOnce() {
        start();
        for (const char* alias : {"same", "split"}) {
            const auto result = run(alias, {onPrimary({{"status", 429}, {"retry_after", 30}})});
            report("429, Retry-After: 30 (> retry.max_wait_ms)", alias, result);
            CPPUNIT_ASSERT_EQUAL(200, result.answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string(kFallback), result.served());
            CPPUNIT_ASSERT_EQUAL(1, result.primaryAttempts);
        }
    }

    void a429WithoutRetryAfterIsRetriedWithBackoffThenFailsOver() {
        start();
        for (const char* alias : {"same", "split"}) {
            const auto result = run(alias, {onPrimary({{"status", 429}, {"retry_after", -1}})});
            report("429, no Retry-After, persistent", alias, result);
            CPPUNIT_ASSERT_EQUAL(200, result.answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string(kFallback), result.served());
            CPPUNIT_ASSERT_EQUAL(2, result.primaryAttempts);
        }
        // With no next candidate the client hears the 429 after the retry, with a Retry-After of its own.
        const auto alone = run("alone", {onPrimary({{"status", 429}, {"retry_after", -1}})});
        CPPUNIT_ASSERT_EQUAL(429, alone.answer.status);
        CPPUNIT_ASSERT_EQUAL(std::string("1"), alone.answer.header("retry-after"));
    }

    void a500OnceIsRetriedOnTheSameCandidate() {
        start();
        for (const char* alias : {"same", "split"}) {
            const auto result = run(alias, {onPrimary({{"status", 500}, {"times", 1}})});
            report("500 once, then healthy", alias, result);
            CPPUNIT_ASSERT_EQUAL(200, result.answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string(kPrimary), result.served());
            CPPUNIT_ASSERT_EQUAL(2, result.primaryAttempts);
            CPPUNIT_ASSERT_EQUAL(std::string("0"), result.answer.header("x-sluice-failovers"));
            CPPUNIT_ASSERT_EQUAL(std::string("1"), result.answer.header("x-sluice-retries"));
            // One served request with one failed attempt before it: never two served.
            const auto record = auditOf(result);
            CPPUNIT_ASSERT_EQUAL(1, record.at("retries").get<int>());
            CPPUNIT_ASSERT_EQUAL(0, record.at("failovers").get<int>());
            CPPUNIT_ASSERT_EQUAL(std::string("ok"), record.at("outcome").get<std::string>());
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(5), record.at("completion_tokens").get<std::uint64_t>());
        }
    }

    void a503PersistentFailsOverAfterItsRetries() {
        start();
        for (const char* alias : {"same", "split"}) {
            const auto result = run(alias, {onPrimary({{"status", 503}})});
            report("503, persistent", alias, result);
            CPPUNIT_ASSERT_EQUAL(200, result.answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string(kFallback), result.served());
            CPPUNIT_ASSERT_EQUAL(2, result.primaryAttempts);
        }
    }

    void aResetBeforeTheHeadersIsRetriedThenRulesOutTheBackend() {
        start();
        for (const char* alias : {"same", "split"}) {
            const auto result = run(alias, {onPrimary({{"reset_before_first_byte", true}})});
            report("reset before the headers, persistent", alias, result);
            CPPUNIT_ASSERT_EQUAL(2, result.primaryAttempts);
            if (std::string(alias) == "split") {
                CPPUNIT_ASSERT_EQUAL(200, result.answer.status);
                CPPUNIT_ASSERT_EQUAL(std::string(kFallback), result.served());
            } else {
                // A backend that drops connections is not asked again in this request.
                CPPUNIT_ASSERT_EQUAL(502, result.answer.status);
                CPPUNIT_ASSERT(result.answer.body.find("one") == std::string::npos);
            }
        }
    }

    void noAnswerAtAllFailsOverAfterFirstByteMs() {
        start();
        for (const char* alias : {"same", "split"}) {
            const auto result = run(alias, {onPrimary({{"delay_first_byte_ms", 30000}})}, true);
            report("no answer at all (streamed)", alias, result);
            CPPUNIT_ASSERT_EQUAL(200, result.answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string(kFallback), result.served());
            CPPUNIT_ASSERT_EQUAL(1, result.primaryAttempts);  // a timeout is not retried
            CPPUNIT_ASSERT(result.seconds >= 1.0);
        }
    }

    void aColdModelIsGivenColdLoadMs() {
        // qwen2.5:0.5b is hosted but not loaded on either fake (/api/ps lists llama3.2 only).
        start("backends.a.timeout.cold_load_ms = 6000\n");
        _a->setRules({{{"delay_first_byte_ms", 2000}}});
        const auto cold = httpPost(_gateway->port(), "/api/chat", ollamaChat(kFallback, true));
        CPPUNIT_ASSERT_EQUAL(200, cold.status);
        CPPUNIT_ASSERT_EQUAL(std::string("a"), cold.header("x-sluice-backend"));
        // The same wait for a loaded model is past its first_byte_ms: b serves.
        const auto loaded = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, loaded.status);
        CPPUNIT_ASSERT_EQUAL(std::string("b"), loaded.header("x-sluice-backend"));
        // A whole answer's first byte is its last: it is given the long wait too.
        const auto whole = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(std::string("a"), whole.header("x-sluice-backend"));
    }

    void aFirstTokenAfter20SecondsIsServedWithTheDefaults() {
        // The defaults (first_byte_ms a minute) wait for a slow loaded model
        // rather than cut it; both aliases at once, to keep the suite short.
        start({}, false);
        _a->setRules({onPrimary({{"delay_first_byte_ms", 20000}})});
        Case results[2];
        std::thread other([&] { results[1] = timed("split", true); });
        results[0] = timed("same", true);
        other.join();
        CPPUNIT_ASSERT_EQUAL(2, chatsAt(*_a));
        for (int i = 0; i < 2; ++i) {
            results[i].primaryAttempts = 1;
            report("first token after 20 s (defaults)", i ? "split" : "same", results[i]);
            CPPUNIT_ASSERT_EQUAL(200, results[i].answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string(kPrimary), results[i].served());
            CPPUNIT_ASSERT(results[i].seconds >= 20.0);
        }
    }

    void requestMsBoundsTheWholeSearch() {
        // Three entries that all hang; 1.5 s for the request, 1 s per first byte:
        // the second entry is cut at the request's deadline and the third never asked.
        start("timeout.request_ms = 1500\nbackends.b.timeout.first_byte_ms = 1000\n"
              "aliases.three.chain = a/llama3.2, b/qwen2.5:0.5b, b/llama3.2\n");
        const nlohmann::json silent = {{{"delay_first_byte_ms", 30000}}};
        const auto result = run("three", silent, true, "/api/chat", silent);
        report("every entry silent, timeout.request_ms = 1500", "three", result);
        CPPUNIT_ASSERT_EQUAL(504, result.answer.status);
        CPPUNIT_ASSERT_EQUAL(1, chatsAt(*_b));
    }

    void contextLengthFailsOverOnlyWhenTheAliasSaysSo() {
        start();
        const nlohmann::json rule = onPrimary({{"status", 400},
                                               {"code", "context_length_exceeded"},
                                               {"message", "This model's maximum context length is 8192 tokens"}});
        for (const char* alias : {"same", "split"}) {
            const auto plain = run(alias, {rule}, false, "/v1/chat/completions");
            report("400 context_length_exceeded", alias, plain);
            CPPUNIT_ASSERT_EQUAL(400, plain.answer.status);
            CPPUNIT_ASSERT(plain.answer.body.find("maximum context length") != std::string::npos);
            CPPUNIT_ASSERT_EQUAL(1, plain.primaryAttempts);

            const auto opted = run(std::string(alias) + "-ctx", {rule}, false, "/v1/chat/completions");
            report("400 context_length_exceeded, fallback_on = context_length", alias, opted);
            CPPUNIT_ASSERT_EQUAL(200, opted.answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string(kFallback), opted.served());
            CPPUNIT_ASSERT_EQUAL(1, opted.primaryAttempts);
        }
        // The fallback may decline too: the caller then hears the provider's words.
        const auto both = run("split-ctx", {{{"status", 400}, {"code", "context_length_exceeded"}, {"message", "too long for me"}}},
                              false, "/v1/chat/completions", {{{"status", 400}, {"message", "prompt is too long: 9000 tokens"}}});
        CPPUNIT_ASSERT_EQUAL(400, both.answer.status);
        CPPUNIT_ASSERT(both.answer.body.find("prompt is too long") != std::string::npos);
        // A declined request says nothing about the backend's health.
        CPPUNIT_ASSERT_EQUAL(0, healthOf("a").at("consecutive_failures").get<int>());
    }

    void contentPolicyReachesTheCallerUnlessTheAliasSaysSo() {
        start();
        const nlohmann::json rule = onPrimary({{"status", 400},
                                               {"code", "content_policy_violation"},
                                               {"message", "Your request was rejected by our content policy"}});
        for (const char* alias : {"same", "split"}) {
            const auto plain = run(alias, {rule}, false, "/v1/chat/completions");
            report("400 content_policy_violation", alias, plain);
            CPPUNIT_ASSERT_EQUAL(400, plain.answer.status);
            CPPUNIT_ASSERT(plain.answer.body.find("content policy") != std::string::npos);

            const auto opted = run(std::string(alias) + "-ctx", {rule}, false, "/v1/chat/completions");
            CPPUNIT_ASSERT_EQUAL_MESSAGE("context_length only", 400, opted.answer.status);

            const auto filtered = run(std::string(alias) + "-filter", {rule}, false, "/v1/chat/completions");
            report("400 content_policy_violation, fallback_on = content_filter", alias, filtered);
            CPPUNIT_ASSERT_EQUAL(200, filtered.answer.status);
            CPPUNIT_ASSERT_EQUAL(std::string(kFallback), filtered.served());
        }
    }

    void theFallbacksModelAndUsageReachTheClient() {
        start();
        for (const char* alias : {"same", "split"}) {
            for (bool stream : {false, true}) {
                const auto result = run(alias, {onPrimary({{"status", 503}})}, stream, "/v1/chat/completions");
                CPPUNIT_ASSERT_EQUAL(200, result.answer.status);
                CPPUNIT_ASSERT_EQUAL(std::string(kFallback), result.served());
                CPPUNIT_ASSERT_EQUAL(std::string("1"), result.answer.header("x-sluice-failovers"));
                nlohmann::json usage, last;
                if (stream) {
                    for (const auto& data : sseData(result.answer.body)) {
                        const auto chunk = nlohmann::json::parse(data, nullptr, false);
                        if (!chunk.is_object()) continue;
                        last = chunk;
                        if (chunk.contains("usage") && chunk["usage"].is_object()) usage = chunk["usage"];
                    }
                } else {
                    last = result.answer.json();
                    usage = last.at("usage");
                }
                CPPUNIT_ASSERT_EQUAL(std::string(kFallback), last.at("model").get<std::string>());
                CPPUNIT_ASSERT_EQUAL(5, usage.at("completion_tokens").get<int>());
            }
        }
        const auto text = metrics();
        CPPUNIT_ASSERT(text.find("sluice_model_requests_total{backend=\"a\",model=\"llama3.2:latest\"}") == std::string::npos);
        CPPUNIT_ASSERT(text.find("sluice_alias_resolved_total{alias=\"split\",target=\"b/qwen2.5:0.5b\"} 2") != std::string::npos);
    }

    // The primary model fails (503) for as long as the test keeps it down:
    // its circuit opens, the fallback serves without the primary being asked,
    // and once it is healthy the trial after the back-off takes it back.
    void aPrimaryDownThenHealthyIsSkippedThenTakenBack() {
        start("health.failure_threshold = 2\nhealth.backoff_ms = 500\n");
        for (const char* alias : {"same", "split"}) {
            const auto first = run(alias, {onPrimary({{"status", 503}})});
            report("primary down: the request that opens its circuit", alias, first);
            CPPUNIT_ASSERT_EQUAL(std::string(kFallback), first.served());
            CPPUNIT_ASSERT_EQUAL(2, first.primaryAttempts);  // the try and its retry: two failures, the threshold
            CPPUNIT_ASSERT_EQUAL(std::string("open"), modelCircuit("a").value("state", ""));
            // While open (half a second, far longer than these requests take
            // on loopback, but checked rather than assumed) the primary is not asked.
            for (int i = 0; i < 3; ++i) {
                const auto skipped = run(alias, {onPrimary({{"status", 503}})});
                CPPUNIT_ASSERT_EQUAL(std::string(kFallback), skipped.served());
                if (modelCircuit("a").value("state", "") == "open") CPPUNIT_ASSERT_EQUAL(0, skipped.primaryAttempts);
            }
            // Healthy again: after the back-off one request is the trial and the primary serves.
            _a->setRules(nlohmann::json::array());
            CPPUNIT_ASSERT(eventually([&] { return timed(alias, false).served() == kPrimary; }));
            CPPUNIT_ASSERT(healthOf("a").at("model_circuits").empty());
            report("primary healthy again: served by it after the trial", alias, run(alias, nlohmann::json::array()));
        }
        CPPUNIT_ASSERT(metrics().find("sluice_model_healthy{backend=\"a\",model=\"llama3.2:latest\"} 1") != std::string::npos);
    }

    // Every way a stream breaks after its first frame, without continuation:
    // the client has the frames sent before and one error line, never a
    // malformed frame, and the primary is not asked again.
    void aBrokenStreamEndsWithAnErrorAndIsNotRetried() {
        start();
        for (const auto& [misbehaviour, rule] : brokenStreams()) {
            for (const char* alias : {"same", "split"}) {
                const auto result = run(alias, {onPrimary(rule)}, true);
                report(misbehaviour, alias, result);
                CPPUNIT_ASSERT_EQUAL(200, result.answer.status);
                CPPUNIT_ASSERT_EQUAL(1, result.primaryAttempts);
                const auto stream = readOllamaStream(result.answer.body);
                CPPUNIT_ASSERT_MESSAGE(misbehaviour + ": " + result.answer.body, stream.error);
                CPPUNIT_ASSERT_MESSAGE(misbehaviour, !stream.done);
                CPPUNIT_ASSERT_MESSAGE(misbehaviour, stream.text.starts_with("Hello from one."));
                CPPUNIT_ASSERT_MESSAGE(misbehaviour, result.answer.body.find("{\"broken") == std::string::npos);
            }
        }
    }

    void aBrokenStreamIsContinuedWithoutRepeatingText() {
        start();
        for (const auto& [misbehaviour, rule] : brokenStreams()) {
            for (const char* alias : {"same", "split"}) {
                const auto result = run(std::string(alias) + "-cont", {onPrimary(rule)}, true);
                report(misbehaviour + ", continue_streams", alias, result);
                CPPUNIT_ASSERT_EQUAL(200, result.answer.status);
                const auto stream = readOllamaStream(result.answer.body);
                CPPUNIT_ASSERT_MESSAGE(misbehaviour + ": " + result.answer.body, !stream.error && stream.done);
                // The second part begins where the first stopped: one sentence, each word once.
                const std::string continuedBy = std::string(alias) == "same" ? "one" : "two";
                const bool cutAfterName = stream.text.starts_with("Hello from one.");
                CPPUNIT_ASSERT_EQUAL_MESSAGE(misbehaviour, std::string("Hello from ") + (cutAfterName ? "one" : continuedBy) +
                                                               ". This is a streamed answer.", stream.text);
                // The continuation of `same` reached a too.
                CPPUNIT_ASSERT_EQUAL(std::string(alias) == "same" ? 2 : 1, requestsAt(*_a, "/api/chat"));
                // The client was told who began the answer.
                CPPUNIT_ASSERT_EQUAL(std::string(kPrimary), result.served());
                // The final counts add the part before the break to the continuation's own.
                CPPUNIT_ASSERT(stream.evalCount > stream.continuationPieces);
                const auto& continuer = std::string(alias) == "same" ? *_a : *_b;
                CPPUNIT_ASSERT_EQUAL(1, continuer.stats().at("prefills").get<int>());
                // The audit says who began it, who continued it, and counts both parts.
                const auto record = auditOf(result);
                CPPUNIT_ASSERT_EQUAL(std::string(alias) == "same" ? std::string("a/qwen2.5:0.5b") : std::string("b/qwen2.5:0.5b"),
                                     record.at("continued_by").get<std::string>());
                CPPUNIT_ASSERT_EQUAL(std::string("a"), record.at("served_backend").get<std::string>());
                CPPUNIT_ASSERT_EQUAL(stream.evalCount, record.at("completion_tokens").get<std::uint64_t>());
                CPPUNIT_ASSERT_EQUAL(std::string("ok"), record.at("outcome").get<std::string>());
            }
        }
        CPPUNIT_ASSERT(metrics().find("reason=\"continuation\"") != std::string::npos);
    }

    void aContinuedOpenAiStreamReportsBothParts() {
        start();
        auto body = nlohmann::json::parse(openAiChat("split-cont", true));
        body["stream_options"] = {{"include_usage", true}};
        _a->reset();
        _b->reset();
        _a->setRules({onPrimary({{"die_after_chunks", 2}})});
        const auto answer = httpPost(_gateway->port(), "/v1/chat/completions", body.dump());
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        std::string text;
        std::uint64_t completion = 0;
        int done = 0;
        for (const auto& data : sseData(answer.body)) {
            if (data == "[DONE]") {
                done++;
                continue;
            }
            const auto chunk = nlohmann::json::parse(data);
            CPPUNIT_ASSERT_MESSAGE(data, !chunk.contains("error"));
            for (const auto& choice : chunk.value("choices", nlohmann::json::array()))
                text += choice.at("delta").value("content", "");
            if (chunk.contains("usage") && chunk["usage"].is_object()) completion = chunk["usage"].at("completion_tokens").get<std::uint64_t>();
        }
        CPPUNIT_ASSERT_EQUAL(std::string("Hello from one. This is a streamed answer."), text);
        CPPUNIT_ASSERT_EQUAL(1, done);
        // Three pieces from the continuation, plus the first part's (estimated: no usage came before the break).
        CPPUNIT_ASSERT(completion > 3);
    }

    // OpenAI's Chat Completions stream: an answer that finished (a
    // finish_reason came) but whose body ended without [DONE] is whole, and
    // the client is given the marker; one cut before its finish_reason is
    // broken (an error event), and with continue_streams it is continued.
    void anOpenAiStreamWithoutDoneIsWholeOnlyIfItFinished() {
        start();
        for (const char* alias : {"same", "split"}) {
            const auto finished = run(alias, {onPrimary({{"omit_done", true}})}, true, "/v1/chat/completions");
            report("OpenAI stream ends without [DONE] after its finish_reason", alias, finished);
            CPPUNIT_ASSERT_EQUAL(std::string(kPrimary), finished.served());
            const auto events = sseData(finished.answer.body);
            CPPUNIT_ASSERT(!events.empty());
            CPPUNIT_ASSERT_EQUAL(std::string("[DONE]"), events.back());
            CPPUNIT_ASSERT(finished.answer.body.find("error") == std::string::npos);

            const auto cut = run(alias, {onPrimary({{"cut_after_chunks", 2}, {"chunk_interval_ms", 30}})}, true,
                                 "/v1/chat/completions");
            report("OpenAI stream cut before its finish_reason", alias, cut);
            CPPUNIT_ASSERT(cut.answer.body.find("\"error\"") != std::string::npos);
            CPPUNIT_ASSERT_EQUAL(1, cut.primaryAttempts);

            const auto continued = run(std::string(alias) + "-cont", {onPrimary({{"cut_after_chunks", 2}, {"chunk_interval_ms", 30}})},
                                       true, "/v1/chat/completions");
            report("OpenAI stream cut before its finish_reason, continue_streams", alias, continued);
            std::string text;
            for (const auto& data : sseData(continued.answer.body)) {
                if (data == "[DONE]") continue;
                const auto chunk = nlohmann::json::parse(data);
                CPPUNIT_ASSERT_MESSAGE(data, !chunk.contains("error"));
                for (const auto& choice : chunk.value("choices", nlohmann::json::array())) text += choice.at("delta").value("content", "");
            }
            CPPUNIT_ASSERT_EQUAL(std::string("Hello from one. This is a streamed answer."), text);
        }
    }

    void aRefusedContinuationGivesTheOriginalFailure() {
        start("backends.b.accepts_prefill = none\n");
        for (const char* alias : {"same", "split"}) {
            // same: a refuses the prefill; split: b is configured not to take one, and is never asked.
            const auto result = run(std::string(alias) + "-cont", {onPrimary({{"die_after_chunks", 2}}), {{"reject_prefill", true}}}, true);
            report("stream cut, the fallback rejects prefill", alias, result);
            const auto stream = readOllamaStream(result.answer.body);
            CPPUNIT_ASSERT_MESSAGE(result.answer.body, stream.error && !stream.done);
            CPPUNIT_ASSERT_EQUAL(std::string("Hello from one."), stream.text);
            CPPUNIT_ASSERT(result.answer.body.find("prefill") == std::string::npos);
            CPPUNIT_ASSERT(result.answer.body.find("broke off") != std::string::npos);
            CPPUNIT_ASSERT_EQUAL(0, requestsAt(*_b, "/api/chat"));
        }
    }

private:
    // What an Ollama NDJSON stream came to.
    struct OllamaStream {
        std::string text;
        bool done = false;
        bool error = false;
        std::uint64_t evalCount = 0;
        std::uint64_t continuationPieces = 3;  // what the fake sends after "Hello from NAME."
    };
    static OllamaStream readOllamaStream(const std::string& body) {
        OllamaStream stream;
        for (const auto& line : ndjsonLines(body)) {
            if (!line.is_object()) continue;
            if (line.contains("error")) stream.error = true;
            if (line.contains("message")) stream.text += line["message"].value("content", "");
            if (line.value("done", false)) {
                stream.done = true;
                stream.evalCount = line.value("eval_count", std::uint64_t(0));
            }
        }
        return stream;
    }

    // Ways a stream breaks after its first two frames ("Hello", " from one.").
    static std::vector<std::pair<std::string, nlohmann::json>> brokenStreams() {
        // Paced, so the first frame is read (and sent on) before the break comes.
        return {{"stream cut mid-answer", {{"die_after_chunks", 2}, {"chunk_interval_ms", 30}}},
                {"stream stalls mid-answer", {{"hang_after_chunks", 2}, {"chunk_interval_ms", 30}}},
                {"a malformed chunk mid-stream", {{"malformed_after_chunks", 2}, {"chunk_interval_ms", 30}}},
                {"stream ends without its end marker", {{"omit_done", true}, {"chunk_interval_ms", 30}}}};
    }

    // A gateway in front of both fakes with the matrix's aliases; `quick`:
    // a second for a first byte, so "no answer" costs a second, not a minute.
    void start(const std::string& extra = {}, bool quick = true) {
        std::string config = baseConfig() + "backends = a, b\n" + backendConfig("a", _a->url()) + backendConfig("b", _b->url()) +
                             "health.failure_threshold = 1000\nretry.backoff_ms = 50\naliases.alone.chain = a/llama3.2\n"
                             "pipeline.audit = jsonl\naudit.flush_ms = 50\naudit.jsonl.path = " +
                             (_dir->path / "audit.jsonl").string() + "\naudit.spill_dir = " + (_dir->path / "spill").string() + "\n";
        if (quick) config += "backends.a.timeout.first_byte_ms = 1000\nbackends.a.timeout.idle_ms = 1000\n";
        for (const char* alias : {"same", "split"}) {
            const std::string fallback = std::string(alias) == "same" ? "a/qwen2.5:0.5b" : "b/qwen2.5:0.5b";
            config += std::string("aliases.") + alias + ".chain = a/llama3.2, " + fallback + "\n";
            config += std::string("aliases.") + alias + "-ctx.chain = a/llama3.2, " + fallback + "\n";
            config += std::string("aliases.") + alias + "-ctx.fallback_on = context_length\n";
            config += std::string("aliases.") + alias + "-filter.chain = a/llama3.2, " + fallback + "\n";
            config += std::string("aliases.") + alias + "-filter.fallback_on = content_filter, context_length\n";
            config += std::string("aliases.") + alias + "-cont.chain = a/llama3.2, " + fallback + "\n";
            config += std::string("aliases.") + alias + "-cont.continue_streams = true\n";
        }
        _gateway = std::make_unique<TestGateway>(config + extra);
    }

    Case timed(const std::string& model, bool stream, const std::string& path = "/api/chat") {
        Case result;
        const auto body = path == "/api/chat" ? ollamaChat(model, stream) : openAiChat(model, stream);
        const auto began = std::chrono::steady_clock::now();
        result.answer = httpPost(_gateway->port(), path, body);
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
        return result;
    }

    // `model` through the gateway with the primary's fake (a) given `rules`
    // and the fallback's fake (b) given `fallbackRules`.
    Case run(const std::string& model, const nlohmann::json& rules, bool stream = false, const std::string& path = "/api/chat",
             const nlohmann::json& fallbackRules = nlohmann::json::array()) {
        _a->reset();
        _b->reset();
        _a->setRules(rules);
        _b->setRules(fallbackRules);
        auto result = timed(model, stream, path);
        // On the same backend, a request the fallback served reached a too.
        const bool fallbackOnA = result.answer.header("x-sluice-backend") == "a" && result.served() == kFallback;
        result.primaryAttempts = requestsAt(*_a, path) - (fallbackOnA ? 1 : 0);
        return result;
    }

    static void report(const std::string& misbehaviour, const std::string& alias, const Case& result) {
        std::fprintf(stderr, "| %s | %s | %d | %.2f s | %d %s/%s |\n", misbehaviour.c_str(), alias.c_str(), result.primaryAttempts,
                     result.seconds, result.answer.status, result.answer.header("x-sluice-backend").c_str(),
                     result.served().c_str());
    }

    std::string metrics() const { return httpGet(_gateway->port(), "/metrics").body; }

    nlohmann::json modelCircuit(const std::string& backend) const {
        const auto circuits = healthOf(backend).at("model_circuits");
        return circuits.empty() ? nlohmann::json::object() : circuits.at(0);
    }

    nlohmann::json healthOf(const std::string& backend) const {
        const auto health = nlohmann::json::parse(httpGet(_gateway->port(), "/v1/health").body);
        for (const auto& entry : health.at("backends"))
            if (entry.at("name") == backend) return entry;
        return {};
    }

    // The request's audit record (the jsonl sink), by the id the gateway gave it.
    nlohmann::json auditOf(const Case& result) const {
        return jsonLineWithId(_dir->path / "audit.jsonl", result.answer.header("x-request-id"));
    }

    std::unique_ptr<ScratchDir> _dir;
    std::unique_ptr<FakeBackend> _a;
    std::unique_ptr<FakeBackend> _b;
    std::unique_ptr<TestGateway> _gateway;
};

CPPUNIT_TEST_SUITE_REGISTRATION(FailoverMatrixTest);

} // namespace sluice::test
