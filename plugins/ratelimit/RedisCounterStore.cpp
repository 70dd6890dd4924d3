#include "RedisCounterStore.h"

#include <algorithm>
#include <exception>
#include <utility>
#include <vector>

#include "sluice/redis/RedisError.h"
#include "sluice/redis/Reply.h"

namespace sluice::ratelimit {

namespace {

// Checks every scope of a ticket and, only if all of them admit it, counts it
// in all of them. Both passes run inside one script, so no other instance's
// admission can slip in between the check and the count.
const char* const kAdmitLua = R"lua(
-- KEYS, three per scope i:  KEYS[3i-2] request log, KEYS[3i-1] token buckets, KEYS[3i] lease set.
-- ARGV[1] lease id, ARGV[2] lease TTL (ms); then three per scope i (0 = unlimited):
--   ARGV[3i] requests per minute, ARGV[3i+1] tokens per minute, ARGV[3i+2] concurrent requests;
--   last, the tokens to reserve.
-- Returns {admitted (1|0), refused by ('requests'|'tokens'|'concurrency'|''),
--          refusing scope (1-based, 0 if admitted), retry after (ms),
--          then four per scope: requests counted, requests reset (ms), tokens used, tokens reset (ms),
--          then the second whose bucket holds the reservation}.

-- Redis's clock, not the caller's: every gateway instance sees the same "now".
local time = redis.call('TIME')
local nowSec = tonumber(time[1])
local now = nowSec * 1000 + math.floor(tonumber(time[2]) / 1000)
local WINDOW = 60000

local leaseId = ARGV[1]
local leaseTtl = tonumber(ARGV[2])
local scopes = #KEYS / 3
local reserved = tonumber(ARGV[#ARGV])

-- When several limits refuse, keep the one that lasts longest: retrying
-- before it ends is pointless.
local refusedBy, refusedScope, retryAfter = '', 0, 0
local function refuse(kind, scope, wait)
  wait = math.max(1, wait)
  if wait > retryAfter then
    refusedBy, refusedScope, retryAfter = kind, scope, wait
  end
end

-- Pass 1: drop what has aged out, then check each limit. Dropping aged-out
-- entries changes no count, so a refusal still records nothing.
local counts = {}
for i = 1, scopes do
  local requestLog, tokenBuckets, leaseSet = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  local rpm, tpm, concurrent = tonumber(ARGV[3*i]), tonumber(ARGV[3*i+1]), tonumber(ARGV[3*i+2])
  local c = {0, 0, 0, 0}

  if rpm > 0 then
    -- Sliding log: a request counts for 60 s after its admission.
    redis.call('ZREMRANGEBYSCORE', requestLog, '-inf', now - WINDOW)
    local n = redis.call('ZCARD', requestLog)
    c[1] = n
    if n > 0 then
      local newest = redis.call('ZRANGE', requestLog, -1, -1, 'WITHSCORES')
      c[2] = tonumber(newest[2]) + WINDOW - now
    end
    if n >= rpm then
      -- Free again once fewer than rpm remain: when the (n - rpm + 1)th
      -- oldest ages out (the oldest, unless the limit was lowered).
      local freeing = redis.call('ZRANGE', requestLog, n - rpm, n - rpm, 'WITHSCORES')
      refuse('requests', i, tonumber(freeing[2]) + WINDOW - now)
    end
  end

  if tpm > 0 then
    -- Token buckets: one field per epoch second, counted while that second
    -- is one of the last 60. Older fields are deleted, the rest summed.
    local fields = redis.call('HGETALL', tokenBuckets)
    local buckets, used = {}, 0
    for j = 1, #fields, 2 do
      local second, tokens = tonumber(fields[j]), tonumber(fields[j+1])
      if second <= nowSec - 60 then
        redis.call('HDEL', tokenBuckets, fields[j])
      else
        used = used + tokens
        buckets[#buckets+1] = {second, tokens}
      end
    end
    table.sort(buckets, function(a, b) return a[1] < b[1] end)
    c[3] = used
    if #buckets > 0 then
      c[4] = (buckets[#buckets][1] + 60) * 1000 - now
    end
    if used >= tpm then
      -- Free again once enough of the oldest buckets have left that the
      -- rest sum to less than tpm (at least the oldest must go).
      local left, k = used, 0
      while left >= tpm do
        k = k + 1
        left = left - buckets[k][2]
      end
      refuse('tokens', i, (buckets[k][1] + 60) * 1000 - now)
    end
  end

  if concurrent > 0 then
    -- Leases: given back by release(); those past their expiry belonged to
    -- an instance that died mid-request, and end here.
    redis.call('ZREMRANGEBYSCORE', leaseSet, '-inf', now)
    local live = redis.call('ZCARD', leaseSet)
    if live >= concurrent then
      -- Nobody knows when an answer ends: suggest a second, or the first
      -- expiry if that comes sooner.
      local first = redis.call('ZRANGE', leaseSet, 0, 0, 'WITHSCORES')
      refuse('concurrency', i, math.min(1000, tonumber(first[2]) - now))
    end
  end

  counts[i] = c
end

-- Pass 2, only when every scope admitted: count the request and take a lease
-- in each scope that limits them, and keep each written key alive just long
-- enough (61 s for the log, the lease TTL + 1 s for the leases).
local admitted = 0
if refusedBy == '' then
  admitted = 1
  local entry = string.format('%d-%s', now, leaseId)
  for i = 1, scopes do
    local requestLog, tokenBuckets, leaseSet = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
    local rpm, tpm, concurrent = tonumber(ARGV[3*i]), tonumber(ARGV[3*i+1]), tonumber(ARGV[3*i+2])
    if rpm > 0 then
      redis.call('ZADD', requestLog, now, entry)
      redis.call('PEXPIRE', requestLog, WINDOW + 1000)
      counts[i][1] = counts[i][1] + 1
      counts[i][2] = WINDOW
    end
    if concurrent > 0 then
      redis.call('ZADD', leaseSet, now + leaseTtl, leaseId)
      redis.call('PEXPIRE', leaseSet, leaseTtl + 1000)
    end
    -- The reservation counts from now, so the next admission sees it.
    if tpm > 0 and reserved > 0 then
      redis.call('HINCRBY', tokenBuckets, nowSec, reserved)
      redis.call('PEXPIRE', tokenBuckets, WINDOW + 1000)
      counts[i][3] = counts[i][3] + reserved
    end
  end
end

local result = {admitted, refusedBy, refusedScope, retryAfter}
for i = 1, scopes do
  for _, value in ipairs(counts[i]) do
    result[#result+1] = value
  end
end
result[#result+1] = nowSec
return result
)lua";

// Ends a ticket: its leases go, its tokens are charged. One round trip for
// every scope, timed by Redis's clock like the admission.
const char* const kReleaseLua = R"lua(
-- KEYS, two per scope i: KEYS[2i-1] lease set, KEYS[2i] token buckets.
-- ARGV[1] lease id, ARGV[2] tokens (an integer), ARGV[3] tokens reserved at
-- admission, ARGV[4] their bucket's second; ARGV[4+i] '1' to charge scope i.
local second = redis.call('TIME')[1]
local leaseId, tokens = ARGV[1], tonumber(ARGV[2])
local reserved, reservedSecond = tonumber(ARGV[3]), ARGV[4]
for i = 1, #KEYS / 2 do
  -- The lease ends now instead of at its expiry (a no-op if it already expired).
  redis.call('ZREM', KEYS[2*i-1], leaseId)
  if ARGV[4+i] == '1' then
    -- The reservation leaves its bucket (unless that has aged out already)...
    if reserved > 0 then
      local held = tonumber(redis.call('HGET', KEYS[2*i], reservedSecond) or '0')
      local back = math.min(held, reserved)
      if back > 0 then
        if redis.call('HINCRBY', KEYS[2*i], reservedSecond, -back) <= 0 then
          redis.call('HDEL', KEYS[2*i], reservedSecond)
        end
      end
    end
    -- ...and the tokens go into this second's bucket, which counts for the
    -- next 60 s; the hash outlives its newest bucket by a second at most.
    if tokens > 0 then
      redis.call('HINCRBY', KEYS[2*i], second, tokens)
      redis.call('PEXPIRE', KEYS[2*i], 61000)
    end
  end
end
return 1
)lua";

// Leases not yet expired by Redis's clock.
const char* const kLeasesHeldLua = R"lua(
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], string.format('(%d', now), '+inf')
)lua";

// HINCRBY takes a signed 64-bit integer; no answer reports more tokens than this.
constexpr std::uint64_t kMostTokens = 1ULL << 53;

bool isLimited(const ScopeLimits& limits) {
    return limits.requestsPerMinute > 0 || limits.tokensPerMinute > 0 || limits.concurrentRequests > 0;
}

std::uint64_t nonNegative(long long value) { return value > 0 ? static_cast<std::uint64_t>(value) : 0; }

std::uint64_t remaining(std::uint64_t limit, std::uint64_t used) { return limit > used ? limit - used : 0; }

Admission storeFailed(std::string error) {
    Admission admission;
    admission.result = Admission::Result::StoreFailed;
    admission.error = std::move(error);
    return admission;
}

} // namespace

RedisCounterStore::RedisCounterStore(std::shared_ptr<redis::Client> client, std::chrono::seconds leaseTtl,
                                     std::string keyPrefix)
    : _client(std::move(client)),
      _leaseTtl(leaseTtl),
      _keyPrefix(std::move(keyPrefix)),
      _admitScript(kAdmitLua),
      _releaseScript(kReleaseLua),
      _leasesHeldScript(kLeasesHeldLua) {}

Admission RedisCounterStore::admit(const Ticket& ticket) {
    // Only scopes with a limit are sent: an unlimited one needs no key.
    std::vector<const ScopeLimits*> limited;
    for (const auto& scope : ticket.scopes)
        if (isLimited(scope)) limited.push_back(&scope);
    if (limited.empty()) return {};

    std::vector<std::string> keys;
    std::vector<std::string> args{ticket.leaseId, std::to_string(_leaseTtl.count())};
    for (const auto* scope : limited) {
        keys.push_back(requestLogKey(scope->scope));
        keys.push_back(tokenBucketsKey(scope->scope));
        keys.push_back(leaseSetKey(scope->scope));
        args.push_back(std::to_string(scope->requestsPerMinute));
        args.push_back(std::to_string(scope->tokensPerMinute));
        args.push_back(std::to_string(scope->concurrentRequests));
    }
    args.push_back(std::to_string(std::min(ticket.reservedTokens, kMostTokens)));

    try {
        const auto reply = _client->evalScript(_admitScript, keys, args);
        const auto& values = reply.array();
        if (values.size() != 5 + 4 * limited.size())
            throw redis::RedisError(redis::RedisError::Kind::Protocol,
                                    "rate-limit script answered " + std::to_string(values.size()) + " values for " +
                                        std::to_string(limited.size()) + " scopes");
        Admission admission;
        if (values[0].integer() == 0) {
            admission.result = Admission::Result::Refused;
            admission.refusedBy = values[1].string();
            const auto index = values[2].integer();
            if (index >= 1 && static_cast<std::size_t>(index) <= limited.size())
                admission.refusedScope = limited[static_cast<std::size_t>(index - 1)]->scope;
            admission.retryAfter = Millis(std::max(1LL, values[3].integer()));
        }
        for (std::size_t i = 0; i < limited.size(); ++i) {
            const auto& limits = *limited[i];
            if (limits.requestsPerMinute == 0 && limits.tokensPerMinute == 0) continue;  // concurrency has no header
            const auto* counts = &values[4 + 4 * i];
            ScopeView view;
            view.scope = limits.scope;
            if (limits.requestsPerMinute > 0) {
                view.requestLimit = limits.requestsPerMinute;
                view.requestsRemaining = remaining(limits.requestsPerMinute, nonNegative(counts[0].integer()));
                view.requestsReset = Millis(nonNegative(counts[1].integer()));
            }
            if (limits.tokensPerMinute > 0) {
                view.tokenLimit = limits.tokensPerMinute;
                view.tokensRemaining = remaining(limits.tokensPerMinute, nonNegative(counts[2].integer()));
                view.tokensReset = Millis(nonNegative(counts[3].integer()));
            }
            admission.views.push_back(std::move(view));
        }
        if (admission.result == Admission::Result::Admitted) admission.reservedSecond = values.back().integer();
        return admission;
    } catch (const std::exception& e) {
        return storeFailed(e.what());
    } catch (...) {
        return storeFailed("rate-limit store: unknown error");
    }
}

void RedisCounterStore::release(const Ticket& ticket, std::uint64_t tokens) noexcept {
    try {
        std::vector<std::string> keys;
        std::vector<std::string> args{ticket.leaseId, std::to_string(std::min(tokens, kMostTokens)),
                                      std::to_string(std::min(ticket.reservedTokens, kMostTokens)),
                                      std::to_string(ticket.reservedSecond)};
        for (const auto& scope : ticket.scopes) {
            const bool charge = scope.tokensPerMinute > 0 && (tokens > 0 || ticket.reservedTokens > 0);
            if (scope.concurrentRequests == 0 && !charge) continue;
            keys.push_back(leaseSetKey(scope.scope));
            keys.push_back(tokenBucketsKey(scope.scope));
            args.push_back(charge ? "1" : "0");
        }
        if (keys.empty()) return;
        _client->evalScript(_releaseScript, keys, args);
    } catch (...) {
        _releaseFailures.fetch_add(1, std::memory_order_relaxed);
    }
}

std::uint64_t RedisCounterStore::leasesHeld(const std::string& scope) {
    return nonNegative(_client->evalScript(_leasesHeldScript, {leaseSetKey(scope)}, {}).integer());
}

} // namespace sluice::ratelimit
