#include "Capacity.h"

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

namespace sluice::kernel {

Capacity::Lease::Lease(Lease&& other) noexcept
    : _capacity(std::exchange(other._capacity, nullptr)), _backend(std::move(other._backend)), _model(std::move(other._model)) {}

Capacity::Lease& Capacity::Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        release();
        _capacity = std::exchange(other._capacity, nullptr);
        _backend = std::move(other._backend);
        _model = std::move(other._model);
    }
    return *this;
}

Capacity::Lease::~Lease() { release(); }

void Capacity::Lease::release() {
    if (auto* capacity = std::exchange(_capacity, nullptr)) capacity->release(_backend, _model);
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

bool Capacity::Order::operator()(const Ticket* a, const Ticket* b) const {
    if (a->_priority != b->_priority) return a->_priority < b->_priority;
    if (a->_tag != b->_tag) return a->_tag < b->_tag;
    return a->_sequence < b->_sequence;
}

Capacity::Capacity(MetricsRegistry& metrics)
    : _metrics(metrics),
      _depthGauge(metrics.gauge("sluice_queue_depth", "Requests waiting for a backend slot (backends.NAME.slots).")),
      _waitHistogram(metrics.histogram("sluice_queue_wait_seconds",
                                       "Time requests waited in the queue for a backend slot, until served or shed.")) {}

Capacity::~Capacity() = default;

bool Capacity::roomLocked(const Want& want) const {
    const auto it = _counts.find(want.backend);
    const int total = it == _counts.end() ? 0 : it->second.total;
    if (want.limits.total > 0 && total >= want.limits.total) return false;
    const int modelBound = want.limits.forModel(want.model);
    if (modelBound == 0) return true;
    if (it == _counts.end()) return true;
    const auto model = it->second.byModel.find(want.model);
    return model == it->second.byModel.end() || model->second < modelBound;
}

void Capacity::takeLocked(const Want& want) {
    auto& count = _counts[want.backend];
    ++count.total;
    ++count.byModel[want.model];
    _metrics.gauge("sluice_backend_slots_in_use", "Generations in flight on a backend from this gateway (backends.NAME.slots).",
                   {{"backend", want.backend}})
        .set(count.total);
}

void Capacity::releaseLocked(const std::string& backend, const std::string& model) {
    const auto it = _counts.find(backend);
    if (it == _counts.end()) return;
    auto& count = it->second;
    --count.total;
    if (const auto m = count.byModel.find(model); m != count.byModel.end() && --m->second <= 0) count.byModel.erase(m);
    _metrics.gauge("sluice_backend_slots_in_use", "Generations in flight on a backend from this gateway (backends.NAME.slots).",
                   {{"backend", backend}})
        .set(count.total);
    if (count.total <= 0) _counts.erase(it);
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
            takeLocked(*fits);
            ticket->_granted = static_cast<std::size_t>(fits - wants.begin());
            ticket->_queued = false;
            _virtualTime = std::max(_virtualTime, ticket->_tag);
            _queue.erase(ticket);
            _depthGauge.set(static_cast<std::int64_t>(_queue.size()));
            const std::uint64_t one = 1;
            [[maybe_unused]] const auto written = ::write(ticket->_fd, &one, sizeof one);  // cannot fail: a fresh counter
            granted = true;
            break;
        }
    }
}

void Capacity::release(const std::string& backend, const std::string& model) {
    std::lock_guard lock(_mutex);
    releaseLocked(backend, model);
    grantLocked();
}

Capacity::Lease Capacity::tryTake(const Want& want) {
    std::lock_guard lock(_mutex);
    // Bounds a reload raised may have room for waiters first.
    if (!_queue.empty()) grantLocked();
    if (!roomLocked(want)) return {};
    takeLocked(want);
    return Lease(*this, want.backend, want.model);
}

Capacity::Queued Capacity::enqueue(std::vector<Want> wants, const Waiting& who, std::size_t maxDepth) {
    std::lock_guard lock(_mutex);
    if (!_queue.empty()) grantLocked();
    for (std::size_t i = 0; i < wants.size(); ++i) {
        if (!roomLocked(wants[i])) continue;
        takeLocked(wants[i]);
        return Queued{Granted{i, Lease(*this, wants[i].backend, wants[i].model)}, nullptr, false};
    }
    if (_queue.size() >= maxDepth) return Queued{std::nullopt, nullptr, true};
    // Start-time fair queueing: never before the queue's virtual time, and
    // after this tenant's previous request by 1/weight.
    auto& finish = _tenantFinish[who.tenant];
    const double tag = std::max(_virtualTime, finish);
    finish = tag + 1.0 / std::clamp(who.weight, 1, 1000);
    // Tenants long idle need no memory of their share.
    if (_tenantFinish.size() > 4096)
        std::erase_if(_tenantFinish, [this](const auto& entry) { return entry.second <= _virtualTime; });
    std::unique_ptr<Ticket> ticket(new Ticket(*this, std::move(wants), who.priority, tag, _sequence++));
    _queue.insert(ticket.get());
    _depthGauge.set(static_cast<std::int64_t>(_queue.size()));
    return Queued{std::nullopt, std::move(ticket), false};
}

std::optional<Capacity::Granted> Capacity::leave(Ticket& ticket) {
    std::lock_guard lock(_mutex);
    if (ticket._queued) {
        ticket._queued = false;
        _queue.erase(&ticket);
        _depthGauge.set(static_cast<std::int64_t>(_queue.size()));
        _waitHistogram.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - ticket._since).count());
        return std::nullopt;
    }
    if (!ticket._granted) return std::nullopt;
    const auto index = *std::exchange(ticket._granted, std::nullopt);
    _waitHistogram.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - ticket._since).count());
    const auto& want = ticket._wants[index];
    return Granted{index, Lease(*this, want.backend, want.model)};
}

int Capacity::inUse(const std::string& backend) const {
    std::lock_guard lock(_mutex);
    const auto it = _counts.find(backend);
    return it == _counts.end() ? 0 : it->second.total;
}

std::size_t Capacity::depth() const {
    std::lock_guard lock(_mutex);
    return _queue.size();
}

} // namespace sluice::kernel
