#include "LocalCounterStore.h"

#include <algorithm>

namespace sluice::ratelimit {

namespace {
constexpr auto kWindow = std::chrono::seconds(60);

std::int64_t secondOf(LocalCounterStore::Clock::time_point at) {
    return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

Millis atLeastOneMs(LocalCounterStore::Clock::duration d) {
    return std::max(Millis(1), std::chrono::ceil<Millis>(d));
}
} // namespace

LocalCounterStore::LocalCounterStore(Now now) : _now(std::move(now)) {}

LocalCounterStore::Shard& LocalCounterStore::shardOf(const std::string& scope) {
    return _shards[std::hash<std::string>{}(scope) % kShards];
}

std::vector<std::unique_lock<std::mutex>> LocalCounterStore::lockShards(const Ticket& ticket) {
    std::vector<std::size_t> indexes;
    indexes.reserve(ticket.scopes.size());
    for (const auto& scope : ticket.scopes) indexes.push_back(std::hash<std::string>{}(scope.scope) % kShards);
    std::sort(indexes.begin(), indexes.end());
    indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
    std::vector<std::unique_lock<std::mutex>> locks;
    locks.reserve(indexes.size());
    for (const auto index : indexes) locks.emplace_back(_shards[index].mutex);
    return locks;
}

void LocalCounterStore::trim(ScopeState& state, Clock::time_point now) {
    // A clock that stepped backwards leaves entries "in the future": they
    // still count until they are a minute older than now, never less.
    while (!state.requests.empty() && state.requests.front() + kWindow <= now) state.requests.pop_front();
    const auto oldest = secondOf(now) - 59;
    const auto kept = state.tokens.lower_bound(oldest);
    for (auto it = state.tokens.begin(); it != kept; ++it) state.tokensTotal -= it->second;
    state.tokens.erase(state.tokens.begin(), kept);
}

std::uint64_t LocalCounterStore::tokensUsed(const ScopeState& state) { return state.tokensTotal; }

ScopeView LocalCounterStore::viewOf(const ScopeLimits& limits, const ScopeState& state, Clock::time_point now) {
    ScopeView view;
    view.scope = limits.scope;
    if (limits.requestsPerMinute > 0) {
        const auto used = static_cast<std::uint64_t>(state.requests.size());
        view.requestLimit = limits.requestsPerMinute;
        view.requestsRemaining = used >= limits.requestsPerMinute ? 0 : limits.requestsPerMinute - used;
        view.requestsReset = state.requests.empty() ? Millis(0) : atLeastOneMs(state.requests.back() + kWindow - now);
    }
    if (limits.tokensPerMinute > 0) {
        const auto used = tokensUsed(state);
        view.tokenLimit = limits.tokensPerMinute;
        view.tokensRemaining = used >= limits.tokensPerMinute ? 0 : limits.tokensPerMinute - used;
        view.tokensReset = state.tokens.empty()
                               ? Millis(0)
                               : Millis((state.tokens.rbegin()->first + 60 - secondOf(now)) * 1000);
    }
    return view;
}

Admission LocalCounterStore::admit(const Ticket& ticket) {
    const auto now = _now();
    auto locks = lockShards(ticket);
    Admission admission;
    std::vector<ScopeState*> states;
    states.reserve(ticket.scopes.size());
    for (const auto& limits : ticket.scopes) {
        auto& state = shardOf(limits.scope).scopes[limits.scope];
        state.lastUsed = now;
        trim(state, now);
        states.push_back(&state);
        if (admission.result == Admission::Result::Refused) continue;
        if (limits.requestsPerMinute > 0 && state.requests.size() >= limits.requestsPerMinute) {
            admission.result = Admission::Result::Refused;
            admission.refusedBy = "requests";
            // The (size - limit + 1)-th oldest must age out first.
            const auto& freeing = state.requests[state.requests.size() - limits.requestsPerMinute];
            admission.retryAfter = atLeastOneMs(freeing + kWindow - now);
        } else if (limits.tokensPerMinute > 0 && tokensUsed(state) >= limits.tokensPerMinute) {
            admission.result = Admission::Result::Refused;
            admission.refusedBy = "tokens";
            // Until enough buckets age out to bring the sum below the limit.
            auto used = tokensUsed(state);
            std::int64_t until = secondOf(now) + 1;
            for (const auto& [second, tokens] : state.tokens) {
                used -= tokens;
                until = second + 60;
                if (used < limits.tokensPerMinute) break;
            }
            admission.retryAfter = std::max(Millis(1000), Millis((until - secondOf(now)) * 1000));
        } else if (limits.concurrentRequests > 0 && state.leases.size() >= limits.concurrentRequests) {
            admission.result = Admission::Result::Refused;
            admission.refusedBy = "concurrency";
            admission.retryAfter = Millis(1000);
        }
        if (admission.result == Admission::Result::Refused) admission.refusedScope = limits.scope;
    }
    if (admission.result == Admission::Result::Admitted) {
        for (std::size_t i = 0; i < ticket.scopes.size(); ++i) {
            const auto& limits = ticket.scopes[i];
            // Kept in order even if the clock stepped back: never under-count.
            auto& log = states[i]->requests;
            if (limits.requestsPerMinute > 0) log.push_back(log.empty() ? now : std::max(now, log.back()));
            if (limits.concurrentRequests > 0) states[i]->leases.insert(ticket.leaseId);
            if (limits.tokensPerMinute > 0 && ticket.reservedTokens > 0) {
                states[i]->tokens[secondOf(now)] += ticket.reservedTokens;
                states[i]->tokensTotal += ticket.reservedTokens;
            }
        }
        admission.reservedSecond = secondOf(now);
    }
    admission.views.reserve(ticket.scopes.size());
    for (std::size_t i = 0; i < ticket.scopes.size(); ++i) admission.views.push_back(viewOf(ticket.scopes[i], *states[i], now));
    return admission;
}

void LocalCounterStore::release(const Ticket& ticket, std::uint64_t tokens) noexcept {
    try {
        const auto now = _now();
        auto locks = lockShards(ticket);
        for (const auto& limits : ticket.scopes) {
            auto& shard = shardOf(limits.scope);
            auto found = shard.scopes.find(limits.scope);
            if (found == shard.scopes.end()) continue;
            auto& state = found->second;
            state.leases.erase(ticket.leaseId);
            auto& buckets = state.tokens;
            if (limits.tokensPerMinute > 0 && ticket.reservedTokens > 0) {
                // Gone when its second has aged out: then it has already stopped counting.
                if (auto reserved = buckets.find(ticket.reservedSecond); reserved != buckets.end()) {
                    const auto givenBack = std::min(reserved->second, ticket.reservedTokens);
                    reserved->second -= givenBack;
                    state.tokensTotal -= givenBack;
                    if (reserved->second == 0) buckets.erase(reserved);
                }
            }
            if (limits.tokensPerMinute > 0 && tokens > 0) {
                buckets[secondOf(now)] += tokens;
                state.tokensTotal += tokens;
            }
            state.lastUsed = now;
        }
        for (auto& lock : locks) lock.unlock();
        sweepIfDue(now);
    } catch (...) {
        // Out of memory while charging tokens: the lease is already given back.
    }
}

// Scopes idle for two minutes with no lease are forgotten.
void LocalCounterStore::sweepIfDue(Clock::time_point now) {
    auto last = _lastSweep.load(std::memory_order_relaxed);
    const auto at = now.time_since_epoch().count();
    if (at - last < Clock::duration(std::chrono::seconds(1)).count() ||
        !_lastSweep.compare_exchange_strong(last, at, std::memory_order_relaxed))
        return;
    for (auto& shard : _shards) {
        std::lock_guard lock(shard.mutex);
        for (auto it = shard.scopes.begin(); it != shard.scopes.end();)
            it = it->second.leases.empty() && now - it->second.lastUsed > 2 * kWindow ? shard.scopes.erase(it) : std::next(it);
    }
}

std::uint64_t LocalCounterStore::leasesHeld(const std::string& scope) {
    auto& shard = shardOf(scope);
    std::lock_guard lock(shard.mutex);
    const auto found = shard.scopes.find(scope);
    return found == shard.scopes.end() ? 0 : found->second.leases.size();
}

std::size_t LocalCounterStore::scopesTracked() {
    std::size_t total = 0;
    for (auto& shard : _shards) {
        std::lock_guard lock(shard.mutex);
        total += shard.scopes.size();
    }
    return total;
}

} // namespace sluice::ratelimit
