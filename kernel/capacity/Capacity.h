#pragma once
// Slots per backend and the fair queue in front of them (docs/capacity.md).
//
// A request takes a slot on the backend (and model) it is sent to for the
// whole exchange, stream included; the slot goes back when the Lease is
// destroyed. When every candidate of a request is at its bound the request
// queues: in priority class first (interactive before batch), then in
// weighted fair share between tenants (start-time fair queueing: a tenant's
// next request is tagged after its previous one by 1/weight, never before
// the queue's virtual time), so a tenant with a deep backlog takes its turn
// with the others rather than ahead of them. A slot that frees goes straight
// to the first waiter it suits (it is never free while one waits), on any
// thread; the waiter learns it from its ticket's eventfd, which its loop
// watches beside the client's socket.
//
// Process-wide and keyed by backend name, so counts survive a reload: a
// request of the old pipeline still holds its slot under the new one.
// Backends without bounds (SlotLimits::unbounded) never reach it.
//
// Shared (shareThrough, with redis.url): the counts that bound a backend are
// Redis leases (RedisSlots), held by every instance together; each instance
// keeps its own fair queue in front of them. Then a take is a round trip
// (blocking: call it off the I/O loop, see blocking()), and waiters are
// granted by the keeper thread, which tries the queue in order when a slot
// frees here, when another instance announces one, and every 100 ms while
// any wait (a lease that expired frees a slot silently). It also gives
// leases back and refreshes the ones held. Redis unreachable: each instance
// bounds the backend by its own count alone, and says so in the log and in
// sluice_slot_store_errors_total.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "RedisSlots.h"
#include "SlotLimits.h"
#include "sluice/Metrics.h"
#include "sluice/Principal.h"

namespace sluice::kernel {

// The SDK's, as the auth stage sets it on a principal: interactive first.
using Priority = QueuePriority;

class Capacity {
public:
    explicit Capacity(MetricsRegistry& metrics);
    ~Capacity();  // stops the keeper; leases still held are given back by their Lease

    // Counts slots in Redis from now on (nullptr: in this process again).
    // Leases taken before go back where they were taken.
    void shareThrough(std::shared_ptr<RedisSlots> slots);
    // Whether tryTake and enqueue may block on a round trip to Redis.
    bool blocking() const;
    // The backends whose fleet-wide count the keeper reads from Redis, about
    // four times a second while slots are shared (sharedInUse).
    void watch(std::vector<std::string> backends);
    // Slots in use on a backend across every instance: this instance's own,
    // exact, plus the others' as last read (none when not shared or not yet
    // read). Never waits on Redis.
    int sharedInUse(const std::string& backend) const;
    Capacity(const Capacity&) = delete;
    Capacity& operator=(const Capacity&) = delete;

    // One place a request could be served, with the bounds of its pipeline.
    struct Want {
        std::string backend;
        std::string model;
        SlotLimits limits;
    };

    // A slot held; given back (to the first waiter it suits) when destroyed.
    class Lease {
    public:
        Lease() = default;
        Lease(Lease&& other) noexcept;
        Lease& operator=(Lease&& other) noexcept;
        ~Lease();
        bool held() const { return _capacity != nullptr; }
        void release();

    private:
        friend class Capacity;
        Lease(Capacity& capacity, std::string backend, std::string model, std::string leaseId)
            : _capacity(&capacity), _backend(std::move(backend)), _model(std::move(model)), _leaseId(std::move(leaseId)) {}
        Capacity* _capacity = nullptr;
        std::string _backend;
        std::string _model;
        std::string _leaseId;  // in Redis; "" when counted here
    };

    // A slot on `want` now, or an empty lease when it is at its bound (or
    // a waiter it suits is ahead: it would have had the slot).
    Lease tryTake(const Want& want);

    // Who waits: the fair share is between tenants, by weight.
    struct Waiting {
        std::string tenant;
        Priority priority = Priority::Interactive;
        int weight = 1;  // 1 to 1000
    };

    class Ticket;
    struct Granted {
        std::size_t want;  // index into the wants it queued for
        Lease lease;
    };
    struct Queued {
        std::optional<Granted> now;       // a slot was free after all
        std::unique_ptr<Ticket> ticket;   // else it waits on ticket->fd()
        bool full = false;                // neither: queue.max_depth requests wait already
    };
    // Queues for the first slot that frees on any of `wants`.
    Queued enqueue(std::vector<Want> wants, const Waiting& who, std::size_t maxDepth);
    // Leaves the queue (the wait ended: its fd is readable, its time is up,
    // or its client went); the grant, if one came. A ticket destroyed
    // without it leaves, and gives back a grant no one took.
    std::optional<Granted> leave(Ticket& ticket);

    // The backend said it is full (a 429, Ollama's 503 "server busy"): until
    // `until` it gets no more than one fewer than this instance has on it
    // now (none, when that was the only one), whatever its slots say.
    void saturated(const std::string& backend, std::chrono::steady_clock::time_point until);

    // Slots in use on a backend; requests waiting.
    int inUse(const std::string& backend) const;
    std::size_t depth() const;
    // Until when a backend that said it is full takes fewer; nullopt when it does not.
    std::optional<std::chrono::steady_clock::time_point> saturatedUntil(const std::string& backend) const;

private:
    struct Count {
        int total = 0;
        std::map<std::string, int, std::less<>> byModel;
    };
    bool roomLocked(const Want& want) const;
    void takeLocked(const Want& want);
    void releaseLocked(const std::string& backend, const std::string& model);
    void grantLocked();  // hands free slots to the waiters they suit, in order (counted here)
    // `counted`: the slot is in _counts already (takeShared counted it).
    void grantTicketLocked(Ticket& ticket, std::size_t want, std::string leaseId, bool counted);
    void forgetSharesIfIdleLocked();
    void release(const std::string& backend, const std::string& model, const std::string& leaseId);
    bool waiterWantsLocked(const std::string& backend) const;

    // Shared counts: a lease in Redis, or (Redis unreachable) a bound kept here.
    // A slot on `want` through `shared`, counted here too: its lease id
    // ("" when Redis did not answer and this instance's count decided), or
    // nullopt when there is no room.
    std::optional<std::string> takeShared(const std::shared_ptr<RedisSlots>& shared, const Want& want);
    void keep(std::stop_token stop);  // the keeper thread
    void grantShared(const std::shared_ptr<RedisSlots>& shared);
    // A ticket leaves the queue (granted, or gone): out of both indexes, and
    // its depth and wait series.
    void dequeueLocked(Ticket& ticket);
    // A lease held in Redis goes to the keeper to give back; no-op for others.
    void giveBackLocked(const std::string& leaseId);
    void showInUse(const std::string& backend, int count);

    struct Held {
        std::shared_ptr<RedisSlots> store;
        RedisSlots::Held lease;
    };
    // The cap a saturation puts on a backend now, if one does.
    std::optional<int> capLocked(const std::string& backend) const;
    int sharedInUseLocked(const std::string& backend) const;
    struct Saturation {
        std::chrono::steady_clock::time_point until;
        int cap;
    };

    struct Order {
        bool operator()(const Ticket* a, const Ticket* b) const;
    };

    MetricsRegistry& _metrics;
    mutable std::mutex _mutex;
    std::map<std::string, Count, std::less<>> _counts;  // guarded by _mutex
    std::set<Ticket*, Order> _queue;                    // guarded by _mutex
    // Per priority class (interactive, batch), guarded: each tenant's last
    // tag + 1/weight, and the tag of the last request granted.
    std::map<std::string, double, std::less<>> _tenantFinish[2];
    double _virtualTime[2] = {0, 0};
    std::uint64_t _sequence = 0;                        // guarded: ties in tag go first come, first served
    std::unordered_map<std::uint64_t, Ticket*> _bySequence;     // guarded: the queue, by sequence (the keeper's handle)
    std::shared_ptr<RedisSlots> _shared;                 // guarded; null: counted here
    std::map<std::string, Held> _held;                   // guarded: leases held in Redis, by id
    std::vector<Held> _toGive;                            // guarded: leases to give back (by the keeper)
    bool _passWanted = false;                             // guarded: the keeper should try the queue now
    std::map<std::string, Saturation, std::less<>> _saturation;  // guarded: backends that said they are full
    std::vector<std::string> _watched;                    // guarded: backends whose shared count is read
    std::map<std::string, int, std::less<>> _othersInUse;  // guarded: other instances' leases, as last read
    std::condition_variable _keeperWake;
    std::uint64_t _leaseSerial = 0;                      // guarded
    std::string _leasePrefix;                            // this process's, for lease ids unique across instances
    Gauge& _depthGauge;
    Counter& _storeErrors;
    std::unique_ptr<redis::Subscriber> _freed;           // other instances' announcements, while shared
    std::jthread _keeper;                                // last: started once the rest is there
};

class Capacity::Ticket {
public:
    ~Ticket();
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    // Readable once a slot is granted.
    int fd() const { return _fd; }

private:
    friend class Capacity;
    Ticket(Capacity& capacity, std::vector<Want> wants, Priority priority, double tag, std::uint64_t sequence);
    // Its metric series' labels: model, priority, tenant.
    MetricLabels labels() const;
    Capacity& _capacity;
    std::string _tenant;
    double _share = 1;  // 1/weight: what its tag added to its tenant's
    std::vector<Want> _wants;
    Priority _priority;
    double _tag;
    std::uint64_t _sequence;
    int _fd = -1;
    std::chrono::steady_clock::time_point _since;
    bool _queued = true;                      // guarded by Capacity::_mutex
    std::optional<std::size_t> _granted;      // guarded by Capacity::_mutex
    std::string _leaseId;                     // guarded: the granted slot's lease in Redis
};

} // namespace sluice::kernel
