#pragma once
// Fault injection: tests post rules that make the next (or every) matching
// request slow, fail, reset or break mid-stream, so the gateway's retries,
// timeouts, failover and cancellation can be exercised deterministically.

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::fake {

// One rule as posted to /_fake/rules; every field is optional.
struct FaultRule {
    std::optional<std::string> model;  // absent: any model (or none)
    std::optional<std::string> path;   // absent: any model route
    std::optional<int> times;          // uses left; absent: forever
    int delayFirstByteMs = 0;
    int status = 0;      // 0: answer normally
    // Seconds, for status 429; negative: a 429 without any Retry-After header,
    // as some providers send, so the gateway's own backoff is what applies.
    int retryAfter = 1;
    bool resetBeforeFirstByte = false;
    std::optional<int> chunks;
    int chunkIntervalMs = 0;
    std::optional<int> dieAfterChunks;
    std::optional<int> hangAfterChunks;
    int sseComments = 0;
    std::optional<int> commentsAfterChunks;
    std::optional<std::string> message;   // error text for "status" instead of the default
    std::optional<std::string> code;      // OpenAI error "code" for "status" instead of the default
    // 400 "assistant prefill is not supported"; the rule matches only a chat
    // ending with an assistant prefill, so other requests never spend it.
    bool rejectPrefill = false;
    bool closeDelimited = false;          // stream with neither chunking nor length, ended by close
    std::optional<int> cutAfterChunks;    // N chunks, half of the next, then a graceful close
    std::optional<std::string> rawBody;   // a whole answer of these bytes (text/html), not the JSON one
    std::size_t padBytes = 0;             // a whole answer carries a "padding" field of this many bytes
    std::optional<std::size_t> stallAfterBytes;  // a whole answer sends this many bytes (chunked), then hangs
    bool noUsage = false;                 // no token counts in the answer, whatever the client asked
    // A stream sends one frame that is not JSON after this many chunks, then goes on
    // as if nothing happened: the gateway must notice a broken frame mid-stream.
    std::optional<int> malformedAfterChunks;
    // A stream ends cleanly (terminator / end of body) without its end marker
    // ([DONE], the done line, message_stop, response.completed): truncated, yet no
    // transport error to show it.
    bool omitDone = false;
    // A whole answer goes out as a keep-alive one, then the connection is
    // closed at once: a backend that drops idle connections, met at its worst.
    bool closeWhenIdle = false;
    // Extra headers on the answer (hop-by-hop or private ones), so a test can
    // prove the gateway never copies an upstream header blindly.
    std::vector<std::pair<std::string, std::string>> headers;

    // Throws std::invalid_argument on a field of the wrong type or range.
    static FaultRule fromJson(const nlohmann::json& rule);
    nlohmann::json toJson() const;
    bool matches(const std::string& requestModel, const std::string& requestPath, bool prefill) const;
};

// The ordered rule list; first match wins and spends one of its uses.
class FaultRules {
public:
    void replace(std::vector<FaultRule> rules);
    void clear();
    // The first rule matching the request, after spending one use of it;
    // prefill: the request is a chat ending with an assistant prefill.
    std::optional<FaultRule> take(const std::string& model, const std::string& path, bool prefill);
    nlohmann::json toJson() const;

private:
    mutable std::mutex _mutex;
    std::vector<FaultRule> _rules;
};

}  // namespace sluice::fake
