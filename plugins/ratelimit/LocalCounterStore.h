#pragma once
// The in-process CounterStore: exact for one instance, nothing to run.
// State per scope lives in a map behind one mutex per shard; a scope nobody
// used for two minutes is dropped, so the map does not grow without bound.
// The clock is injectable so tests can step it (forwards and backwards).

#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "CounterStore.h"

namespace sluice::ratelimit {

class LocalCounterStore final : public CounterStore {
public:
    using Clock = std::chrono::steady_clock;
    using Now = std::function<Clock::time_point()>;

    explicit LocalCounterStore(Now now = [] { return Clock::now(); });

    Admission admit(const Ticket& ticket) override;
    void release(const Ticket& ticket, std::uint64_t tokens) noexcept override;
    std::uint64_t leasesHeld(const std::string& scope) override;
    bool remote() const override { return false; }
    std::size_t scopesTracked();

private:
    struct ScopeState {
        std::deque<Clock::time_point> requests;          // admissions in the last minute, oldest first
        std::map<std::int64_t, std::uint64_t> tokens;   // second -> tokens charged in it
        // The sum of `tokens`, kept as buckets change: summed afresh, the
        // minute's 60 buckets were walked twice a scope an admission.
        std::uint64_t tokensTotal = 0;
        std::set<std::string> leases;
        Clock::time_point lastUsed;
    };
    static constexpr std::size_t kShards = 16;
    struct Shard {
        std::mutex mutex;
        std::unordered_map<std::string, ScopeState> scopes;
    };

    // One mutex for an admission across scopes in different shards would be
    // a global lock; instead the ticket's shards are locked in index order.
    std::vector<std::unique_lock<std::mutex>> lockShards(const Ticket& ticket);
    Shard& shardOf(const std::string& scope);
    static void trim(ScopeState& state, Clock::time_point now);
    static std::uint64_t tokensUsed(const ScopeState& state);
    static ScopeView viewOf(const ScopeLimits& limits, const ScopeState& state, Clock::time_point now);
    // Drops idle scopes in every shard, at most once a second: one atomic
    // check per release, shard locks only when a sweep is due.
    void sweepIfDue(Clock::time_point now);

    Now _now;
    std::array<Shard, kShards> _shards;
    std::atomic<Clock::rep> _lastSweep{0};
};

} // namespace sluice::ratelimit
