#pragma once
// Where the rate limiter keeps its counts: in this process (one instance) or
// in Redis (several instances behind a load balancer, exact across them).
// Both implement the same rules, so a deployment changes stores by config:
//
//   requests per minute  a sliding log: a request is admitted while fewer
//                        than `requestsPerMinute` were admitted in the last
//                        60 s (exact, so no 2x burst at any window edge);
//   tokens per minute    per-second buckets over the last 60 s; a request
//                        is admitted while the sum is below
//                        `tokensPerMinute`, and its estimate (prompt plus
//                        its answer's length bound) is charged at once, so
//                        concurrent requests see each other's; when the
//                        answer ends the estimate is replaced by the tokens
//                        the backend reported;
//   concurrent requests  leases: one taken at admission, given back when the
//                        answer ends; in Redis a lease also expires after
//                        `leaseTtl`, so a crashed instance cannot hold one forever.
//
// A request is checked against every scope (its tenant and its key) at once:
// it is admitted only if every scope admits it, and then counted in all of
// them; a refusal counts nothing.
// Thread: implementations are called from every request thread at once.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::ratelimit {

using Millis = std::chrono::milliseconds;

// The limits of one scope; 0 means unlimited.
struct ScopeLimits {
    std::string scope;  // "tenant:NAME" or "key:ID"
    std::uint64_t requestsPerMinute = 0;
    std::uint64_t tokensPerMinute = 0;
    std::uint64_t concurrentRequests = 0;
};

// One request asking to be admitted, or giving back what it took.
struct Ticket {
    std::vector<ScopeLimits> scopes;
    std::string leaseId;               // unique per request (the request id)
    std::uint64_t reservedTokens = 0;  // charged at admission, taken back at release
    std::int64_t reservedSecond = 0;   // the bucket they went into (Admission::reservedSecond)
};

// What a scope looks like after an admission decision, for the
// X-RateLimit-* answer headers. Limits of 0 (unlimited) have no view.
struct ScopeView {
    std::string scope;
    std::uint64_t requestLimit = 0;
    std::uint64_t requestsRemaining = 0;
    Millis requestsReset{0};  // until every request of the last minute has aged out
    std::uint64_t tokenLimit = 0;
    std::uint64_t tokensRemaining = 0;
    Millis tokensReset{0};    // until every token of the last minute has aged out
};

struct Admission {
    enum class Result {
        Admitted,
        Refused,      // a limit is reached: answer 429 with retryAfter
        StoreFailed,  // the counts could not be read (Redis down): see on_store_error
    };
    Result result = Result::Admitted;
    std::string refusedBy;  // "requests", "tokens" or "concurrency" when Refused
    std::string refusedScope;
    Millis retryAfter{0};   // when the refusing limit frees up (at least 1 ms)
    std::vector<ScopeView> views;
    std::string error;      // when StoreFailed, for the log
    std::int64_t reservedSecond = 0;  // when Admitted: the bucket the reservation went into
};

class CounterStore {
public:
    virtual ~CounterStore() = default;

    // Admits the ticket in every scope or in none. Never throws.
    virtual Admission admit(const Ticket& ticket) = 0;

    // The answer to an admitted ticket ended: gives its lease back, takes its
    // reservation back from its bucket (if that bucket is still counted) and
    // charges `tokens` to every scope. Called exactly once per admitted ticket.
    // Never throws; a failure is logged by the caller's store and the Redis
    // lease then ends by its TTL.
    virtual void release(const Ticket& ticket, std::uint64_t tokens) noexcept = 0;

    // Leases held now in a scope (tests and /metrics); 0 if none.
    virtual std::uint64_t leasesHeld(const std::string& scope) = 0;
    // Whether admit() and release() may wait on anything but memory (a Redis round trip).
    virtual bool remote() const = 0;
};

} // namespace sluice::ratelimit
