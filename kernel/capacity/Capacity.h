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

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "SlotLimits.h"
#include "sluice/Metrics.h"
#include "sluice/Principal.h"

namespace sluice::kernel {

// The SDK's, as the auth stage sets it on a principal: interactive first.
using Priority = QueuePriority;

class Capacity {
public:
    explicit Capacity(MetricsRegistry& metrics);
    ~Capacity();
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
        Lease(Capacity& capacity, std::string backend, std::string model)
            : _capacity(&capacity), _backend(std::move(backend)), _model(std::move(model)) {}
        Capacity* _capacity = nullptr;
        std::string _backend;
        std::string _model;
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

    // Slots in use on a backend; requests waiting.
    int inUse(const std::string& backend) const;
    std::size_t depth() const;

private:
    struct Count {
        int total = 0;
        std::map<std::string, int, std::less<>> byModel;
    };
    bool roomLocked(const Want& want) const;
    void takeLocked(const Want& want);
    void releaseLocked(const std::string& backend, const std::string& model);
    void grantLocked();  // hands free slots to the waiters they suit, in order
    void release(const std::string& backend, const std::string& model);

    struct Order {
        bool operator()(const Ticket* a, const Ticket* b) const;
    };

    MetricsRegistry& _metrics;
    mutable std::mutex _mutex;
    std::map<std::string, Count, std::less<>> _counts;  // guarded by _mutex
    std::set<Ticket*, Order> _queue;                    // guarded by _mutex
    std::map<std::string, double, std::less<>> _tenantFinish;  // guarded: each tenant's last tag + 1/weight
    double _virtualTime = 0;                            // guarded: the tag of the last request served from the queue
    std::uint64_t _sequence = 0;                        // guarded: ties in tag go first come, first served
    Gauge& _depthGauge;
    Histogram& _waitHistogram;
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
    Capacity& _capacity;
    std::vector<Want> _wants;
    Priority _priority;
    double _tag;
    std::uint64_t _sequence;
    int _fd = -1;
    std::chrono::steady_clock::time_point _since;
    bool _queued = true;                      // guarded by Capacity::_mutex
    std::optional<std::size_t> _granted;      // guarded by Capacity::_mutex
};

} // namespace sluice::kernel
