#include "Capacity.h"

#include <algorithm>
#include <cerrno>
#include <random>
#include <set>
#include <stdexcept>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

#include <Poco/Logger.h>

#include "sluice/redis/RedisError.h"

namespace sluice::kernel {

namespace {
Poco::Logger& log() { return Poco::Logger::get("sluice.kernel"); }

// How often the keeper tries the queue while requests wait in it, even
// with no news: another instance's announcement may be lost, and a lease
// that expired frees its slot without one.
constexpr auto kPassEvery = std::chrono::milliseconds(100);
// How often the fleet-wide counts of watched backends are read, for routers.
constexpr auto kCountEvery = std::chrono::milliseconds(250);
} // namespace

Capacity::Lease::Lease(Lease&& other) noexcept
    : _capacity(std::exchange(other._capacity, nullptr)), _backend(std::move(other._backend)), _model(std::move(other._model)),
      _leaseId(std::move(other._leaseId)) {}

Capacity::Lease& Capacity::Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        release();
        _capacity = std::exchange(other._capacity, nullptr);
        _backend = std::move(other._backend);
        _model = std::move(other._model);
        _leaseId = std::move(other._leaseId);
    }
    return *this;
}

Capacity::Lease::~Lease() { release(); }

void Capacity::Lease::release() {
    if (auto* capacity = std::exchange(_capacity, nullptr)) capacity->release(_backend, _model, _leaseId);
}

Capacity::Ticket::Ticket(Capacity& capacity, std::vector<Want> wants, Priority priority, double tag, std::uint64_t sequence)
    : _capacity(capacity), _wants(std::move(wants)), _priority(priority), _tag(tag), _sequence(sequence),
      _fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)), _since(std::chrono::steady_clock::now()) {
    if (_fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd for a queued request");
}

Capacity::Ticket::~Ticket() {
    _capacity.leave(*this);  // a grant no one took goes on to the next waiter
    ::close(_fd);
}

MetricLabels Capacity::Ticket::labels() const {
    return {{"model", _wants.empty() ? std::string() : _wants.front().model},
            {"priority", _priority == Priority::Batch ? "batch" : "interactive"},
            {"tenant", _tenant}};
}

bool Capacity::Order::operator()(const Ticket* a, const Ticket* b) const {
    if (a->_priority != b->_priority) return a->_priority < b->_priority;
    if (a->_tag != b->_tag) return a->_tag < b->_tag;
    return a->_sequence < b->_sequence;
}

Capacity::Capacity(MetricsRegistry& metrics)
    : _metrics(metrics),
      _depthGauge(metrics.gauge("sluice_queue_depth", "Requests waiting for a backend slot (backends.NAME.slots).")),
      _storeErrors(metrics.counter("sluice_slot_store_errors_total",
                                   "Calls to Redis for backend slots that failed; each instance then bounds by its own count.")) {
    std::random_device random;
    _leasePrefix = std::to_string(::getpid()) + "-" + std::to_string((std::uint64_t(random()) << 32) | random()) + "-";
    _keeper = std::jthread([this](std::stop_token stop) { keep(stop); });
}

Capacity::~Capacity() {
    // Announcements first: their callback takes the lock the keeper uses.
    std::unique_ptr<redis::Subscriber> freed;
    {
        std::lock_guard lock(_mutex);
        freed = std::move(_freed);
    }
    freed.reset();
    _keeper.request_stop();
    { std::lock_guard lock(_mutex); }  // the keeper is waiting, or will see the stop before it waits
    _keeperWake.notify_all();
}

void Capacity::shareThrough(std::shared_ptr<RedisSlots> slots) {
    // A slot another instance gives back: this instance's waiters try for it.
    auto freed = slots ? slots->listenForFreed([this] {
        std::lock_guard lock(_mutex);
        _passWanted = true;
        _keeperWake.notify_all();
    })
                       : nullptr;
    std::unique_ptr<redis::Subscriber> old;
    {
        std::lock_guard lock(_mutex);
        _shared = std::move(slots);
        old = std::exchange(_freed, std::move(freed));
        _passWanted = true;
        _keeperWake.notify_all();
    }
    // Stopped outside the lock: its callback takes it.
}

bool Capacity::blocking() const {
    std::lock_guard lock(_mutex);
    return _shared != nullptr;
}

void Capacity::watch(std::vector<std::string> backends) {
    std::lock_guard lock(_mutex);
    _watched = std::move(backends);
    std::erase_if(_othersInUse, [this](const auto& entry) {
        return std::find(_watched.begin(), _watched.end(), entry.first) == _watched.end();
    });
}

int Capacity::sharedInUse(const std::string& backend) const {
    std::lock_guard lock(_mutex);
    return sharedInUseLocked(backend);
}

int Capacity::sharedInUseLocked(const std::string& backend) const {
    const auto others = _othersInUse.find(backend);
    const auto here = _counts.find(backend);
    return (others == _othersInUse.end() ? 0 : others->second) + (here == _counts.end() ? 0 : here->second.total);
}

std::optional<int> Capacity::capLocked(const std::string& backend) const {
    const auto saturation = _saturation.find(backend);
    if (saturation == _saturation.end() || std::chrono::steady_clock::now() >= saturation->second.until) return std::nullopt;
    return saturation->second.cap;
}

bool Capacity::roomLocked(const Want& want) const {
    const auto it = _counts.find(want.backend);
    const int total = it == _counts.end() ? 0 : it->second.total;
    if (const auto cap = capLocked(want.backend); cap && total >= *cap) return false;
    if (want.limits.total > 0 && total >= want.limits.total) return false;
    const int modelBound = want.limits.forModel(want.model);
    if (modelBound == 0) return true;
    if (it == _counts.end()) return true;
    const auto model = it->second.byModel.find(want.model);
    return model == it->second.byModel.end() || model->second < modelBound;
}

void Capacity::showInUse(const std::string& backend, int count) {
    _metrics.gauge("sluice_backend_slots_in_use", "Generations in flight on a backend from this gateway (backends.NAME.slots).",
                   {{"backend", backend}})
        .set(count);
}

void Capacity::takeLocked(const Want& want) {
    auto& count = _counts[want.backend];
    ++count.total;
    ++count.byModel[want.model];
    showInUse(want.backend, count.total);
}

void Capacity::releaseLocked(const std::string& backend, const std::string& model) {
    const auto it = _counts.find(backend);
    if (it == _counts.end()) return;
    auto& count = it->second;
    --count.total;
    if (const auto m = count.byModel.find(model); m != count.byModel.end() && --m->second <= 0) count.byModel.erase(m);
    showInUse(backend, count.total);
    if (count.total <= 0) _counts.erase(it);
}

void Capacity::dequeueLocked(Ticket& ticket) {
    ticket._queued = false;
    _queue.erase(&ticket);
    _bySequence.erase(ticket._sequence);
    forgetSharesIfIdleLocked();
    _depthGauge.set(static_cast<std::int64_t>(_queue.size()));
    const auto labels = ticket.labels();
    _metrics.gauge("sluice_queue_waiting", "Requests waiting for a backend slot, by model, priority and tenant.", labels).add(-1);
    _metrics.histogram("sluice_queue_wait_seconds", "Time requests waited for a backend slot, until granted or gone, by model, priority and tenant.", labels)
        .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - ticket._since).count());
}

void Capacity::grantTicketLocked(Ticket& ticket, std::size_t want, std::string leaseId, bool counted) {
    if (!counted) takeLocked(ticket._wants[want]);
    ticket._granted = want;
    ticket._leaseId = std::move(leaseId);
    auto& virtualTime = _virtualTime[static_cast<std::size_t>(ticket._priority)];
    virtualTime = std::max(virtualTime, ticket._tag);
    dequeueLocked(ticket);
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(ticket._fd, &one, sizeof one);  // cannot fail: a fresh counter
}

void Capacity::forgetSharesIfIdleLocked() {
    // Nobody waits: a fresh start, and no memory of tenants grows.
    if (!_queue.empty()) return;
    for (auto& shares : _tenantFinish) shares.clear();
    for (auto& time : _virtualTime) time = 0;
}

void Capacity::grantLocked() {
    // In fair order, the first waiter that fits a free slot takes it; then
    // again from the front, as a grant changes the counts.
    for (bool granted = true; granted && !_queue.empty();) {
        granted = false;
        for (auto* ticket : _queue) {
            const auto& wants = ticket->_wants;
            const auto fits = std::find_if(wants.begin(), wants.end(), [this](const Want& want) { return roomLocked(want); });
            if (fits == wants.end()) continue;
            grantTicketLocked(*ticket, static_cast<std::size_t>(fits - wants.begin()), {}, false);
            granted = true;
            break;
        }
    }
}

bool Capacity::waiterWantsLocked(const std::string& backend) const {
    for (const auto* ticket : _queue)
        for (const auto& want : ticket->_wants)
            if (want.backend == backend) return true;
    return false;
}

std::optional<std::string> Capacity::takeShared(const std::shared_ptr<RedisSlots>& shared, const Want& want) {
    std::string leaseId;
    {
        std::lock_guard lock(_mutex);
        // A saturation's cap is on what this instance sends (it saw the
        // refusal): checked against this instance's count, not the fleet's.
        const auto here = _counts.find(want.backend);
        if (const auto cap = capLocked(want.backend); cap && (here == _counts.end() ? 0 : here->second.total) >= *cap)
            return std::nullopt;
        leaseId = _leasePrefix + std::to_string(++_leaseSerial);
    }
    try {
        if (!shared->take(want.backend, want.model, want.limits, leaseId)) return std::nullopt;
        std::lock_guard lock(_mutex);
        _held[leaseId] = Held{shared, {want.backend, want.model, leaseId}};
        takeLocked(want);
        return leaseId;
    } catch (const redis::RedisError& e) {
        _storeErrors.inc();
        log().warning("backend slots: Redis did not answer (%s); bounding %s by this instance's count", std::string(e.what()),
                      want.backend);
        std::lock_guard lock(_mutex);
        if (!roomLocked(want)) return std::nullopt;
        takeLocked(want);
        return std::string();  // counted here only
    }
}

void Capacity::giveBackLocked(const std::string& leaseId) {
    const auto held = _held.find(leaseId);
    if (held == _held.end()) return;
    _toGive.push_back(std::move(held->second));
    _held.erase(held);
    _keeperWake.notify_all();
}

void Capacity::release(const std::string& backend, const std::string& model, const std::string& leaseId) {
    std::lock_guard lock(_mutex);
    releaseLocked(backend, model);
    // A lease in Redis goes back there, by the keeper (one taken before a
    // reload took redis.url away, too).
    giveBackLocked(leaseId);
    // Counted here: the slot goes to the first waiter it suits, now.
    if (!_shared) return grantLocked();
    // Shared: the keeper tries the queue against Redis.
    _passWanted = true;
    _keeperWake.notify_all();
}

Capacity::Lease Capacity::tryTake(const Want& want) {
    std::shared_ptr<RedisSlots> shared;
    {
        std::lock_guard lock(_mutex);
        shared = _shared;
        if (!shared) {
            // Bounds a reload raised may have room for waiters first.
            if (!_queue.empty()) grantLocked();
            if (!roomLocked(want)) return {};
            takeLocked(want);
            return Lease(*this, want.backend, want.model, {});
        }
        // A newcomer does not overtake this instance's waiters.
        if (waiterWantsLocked(want.backend)) return {};
    }
    auto leaseId = takeShared(shared, want);
    if (!leaseId) return {};
    return Lease(*this, want.backend, want.model, std::move(*leaseId));
}

Capacity::Queued Capacity::enqueue(std::vector<Want> wants, const Waiting& who, std::size_t maxDepth) {
    std::lock_guard lock(_mutex);
    if (!_shared) {
        if (!_queue.empty()) grantLocked();
        for (std::size_t i = 0; i < wants.size(); ++i) {
            if (!roomLocked(wants[i])) continue;
            takeLocked(wants[i]);
            return Queued{Granted{i, Lease(*this, wants[i].backend, wants[i].model, {})}, nullptr, false};
        }
    }
    if (_queue.size() >= maxDepth) return Queued{std::nullopt, nullptr, true};
    // Start-time fair queueing: never before the queue's virtual time, and
    // after this tenant's previous request by 1/weight.
    // Each priority class keeps its own virtual time and shares.
    const auto cls = static_cast<std::size_t>(who.priority);
    auto& finish = _tenantFinish[cls][who.tenant];
    const double tag = std::max(_virtualTime[cls], finish);
    const double share = 1.0 / std::clamp(who.weight, 1, 1000);
    finish = tag + share;
    std::unique_ptr<Ticket> ticket(new Ticket(*this, std::move(wants), who.priority, tag, _sequence++));
    ticket->_tenant = who.tenant;
    ticket->_share = share;
    _metrics.gauge("sluice_queue_waiting", "Requests waiting for a backend slot, by model, priority and tenant.", ticket->labels()).add(1);
    _queue.insert(ticket.get());
    _bySequence[ticket->_sequence] = ticket.get();
    _depthGauge.set(static_cast<std::int64_t>(_queue.size()));
    if (_shared) {
        // Shared counts: the keeper tries it (and those ahead of it) at once.
        _passWanted = true;
        _keeperWake.notify_all();
    }
    return Queued{std::nullopt, std::move(ticket), false};
}

std::optional<Capacity::Granted> Capacity::leave(Ticket& ticket) {
    std::lock_guard lock(_mutex);
    if (ticket._queued) {
        // Unserved, it gives back its share: a tenant whose requests timed
        // out is not pushed behind the others for turns it never had.
        const auto cls = static_cast<std::size_t>(ticket._priority);
        if (const auto finish = _tenantFinish[cls].find(ticket._tenant); finish != _tenantFinish[cls].end())
            finish->second = std::max(_virtualTime[cls], finish->second - ticket._share);
        dequeueLocked(ticket);
        return std::nullopt;
    }
    if (!ticket._granted) return std::nullopt;
    const auto index = *std::exchange(ticket._granted, std::nullopt);
    const auto& want = ticket._wants[index];
    return Granted{index, Lease(*this, want.backend, want.model, std::move(ticket._leaseId))};
}

void Capacity::keep(std::stop_token stop) {
    auto nextRefresh = std::chrono::steady_clock::now();
    auto nextCount = std::chrono::steady_clock::now();
    std::unique_lock lock(_mutex);
    while (!stop.stop_requested()) {
        const auto shared = _shared;
        const auto ttl = shared ? shared->leaseTtl() : std::chrono::milliseconds(10000);
        auto until = nextRefresh;
        if (shared && !_watched.empty()) until = std::min(until, nextCount);
        if (!_queue.empty()) until = std::min(until, std::chrono::steady_clock::now() + kPassEvery);
        for (const auto& [backend, saturation] : _saturation) until = std::min(until, saturation.until);
        _keeperWake.wait_until(lock, until, [&] { return stop.stop_requested() || _passWanted || !_toGive.empty(); });
        if (stop.stop_requested()) break;
        _passWanted = false;
        // A saturation that ended lets through what it held back.
        const auto ended = std::erase_if(_saturation, [](const auto& entry) {
            return std::chrono::steady_clock::now() >= entry.second.until;
        });
        if (ended > 0 && !shared) grantLocked();
        auto toGive = std::exchange(_toGive, {});
        // Each lease through the store it was taken from (a reload may
        // have changed redis.url or the TTL since).
        std::map<std::shared_ptr<RedisSlots>, std::vector<RedisSlots::Held>> toRefresh;
        const bool refreshing = std::chrono::steady_clock::now() >= nextRefresh;
        if (refreshing) {
            nextRefresh = std::chrono::steady_clock::now() + ttl / 3;
            for (const auto& [id, held] : _held) toRefresh[held.store].push_back(held.lease);
        }
        std::vector<std::string> toCount;
        if (shared && std::chrono::steady_clock::now() >= nextCount) {
            nextCount = std::chrono::steady_clock::now() + kCountEvery;
            toCount = _watched;
        }
        lock.unlock();
        std::map<std::string, int, std::less<>> counted;
        for (const auto& backend : toCount) {
            try {
                counted[backend] = static_cast<int>(shared->othersInUse(backend, _leasePrefix));
            } catch (const redis::RedisError&) {
                _storeErrors.inc();  // the last count stands; takes say more
                break;
            }
        }
        if (!counted.empty()) {
            std::lock_guard counting(_mutex);
            for (auto& [backend, others] : counted) {
                _othersInUse[backend] = others;
                _metrics.gauge("sluice_backend_slots_in_use_fleet",
                               "Generations in flight on a backend from every instance sharing redis.url (backends.NAME.slots).",
                               {{"backend", backend}})
                    .set(sharedInUseLocked(backend));
            }
        }
        for (const auto& held : toGive) {
            try {
                held.store->give(held.lease.backend, held.lease.model, held.lease.leaseId);
            } catch (const redis::RedisError& e) {
                _storeErrors.inc();  // it expires by itself after its TTL
                log().warning("backend slots: could not give a lease back to Redis (%s)", std::string(e.what()));
            }
        }
        for (const auto& [store, leases] : toRefresh) {
            try {
                store->refresh(leases);
            } catch (const redis::RedisError& e) {
                _storeErrors.inc();
                log().warning("backend slots: could not refresh leases in Redis (%s)", std::string(e.what()));
            }
        }
        if (shared) grantShared(shared);
        lock.lock();
    }
    // Stopping: what is still held goes back now, so other instances need
    // not wait for the TTL (a rolling restart).
    auto toGive = std::exchange(_toGive, {});
    for (auto& [id, held] : _held) toGive.push_back(std::move(held));
    _held.clear();
    lock.unlock();
    for (const auto& held : toGive) {
        try {
            held.store->give(held.lease.backend, held.lease.model, held.lease.leaseId);
        } catch (const redis::RedisError&) {
            break;  // unreachable: the TTL ends them
        }
    }
}

void Capacity::grantShared(const std::shared_ptr<RedisSlots>& shared) {
    // The queue in order, as it stands; a backend found full is not asked
    // again in this pass.
    struct Waiter {
        std::uint64_t sequence;
        std::vector<Want> wants;
    };
    std::vector<Waiter> waiters;
    {
        std::lock_guard lock(_mutex);
        for (const auto* ticket : _queue) waiters.push_back({ticket->_sequence, ticket->_wants});
    }
    std::set<std::pair<std::string, std::string>> full;  // (backend, model)
    for (const auto& waiter : waiters) {
        for (std::size_t i = 0; i < waiter.wants.size(); ++i) {
            const auto& want = waiter.wants[i];
            if (full.count({want.backend, want.model}) || full.count({want.backend, std::string()})) continue;
            auto leaseId = takeShared(shared, want);
            if (!leaseId) {
                full.insert({want.backend, want.limits.forModel(want.model) > 0 ? want.model : std::string()});
                continue;
            }
            std::unique_lock lock(_mutex);
            const auto it = _bySequence.find(waiter.sequence);
            if (it == _bySequence.end()) {
                // It left meanwhile: the slot goes back.
                releaseLocked(want.backend, want.model);
                giveBackLocked(*leaseId);
                _passWanted = true;
                break;
            }
            grantTicketLocked(*it->second, i, std::move(*leaseId), true);
            break;
        }
    }
}

void Capacity::saturated(const std::string& backend, std::chrono::steady_clock::time_point until) {
    std::lock_guard lock(_mutex);
    const auto it = _counts.find(backend);
    // The one that was refused still holds its slot as this is called: the
    // backend had room for the others. None of them: nothing until `until`.
    const int cap = std::max(0, (it == _counts.end() ? 0 : it->second.total) - 1);
    _saturation[backend] = Saturation{until, cap};
    _passWanted = true;
    _keeperWake.notify_all();  // so it wakes when the saturation ends, to grant what it held back
}

int Capacity::inUse(const std::string& backend) const {
    std::lock_guard lock(_mutex);
    const auto it = _counts.find(backend);
    return it == _counts.end() ? 0 : it->second.total;
}

std::optional<std::chrono::steady_clock::time_point> Capacity::saturatedUntil(const std::string& backend) const {
    std::lock_guard lock(_mutex);
    if (!capLocked(backend)) return std::nullopt;
    return _saturation.at(backend).until;
}

std::size_t Capacity::depth() const {
    std::lock_guard lock(_mutex);
    return _queue.size();
}

} // namespace sluice::kernel
