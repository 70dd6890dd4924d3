#include "FakeStats.h"

namespace sluice::fake {

void FakeStats::connectionAccepted() { _connections.fetch_add(1); }

void FakeStats::requestStarted(const std::string& path) {
    _requests.fetch_add(1);
    const long long now = _inFlight.fetch_add(1) + 1;
    long long seen = _maxInFlight.load();
    while (now > seen && !_maxInFlight.compare_exchange_weak(seen, now)) {
    }
    std::lock_guard lock(_mutex);
    ++_byPath[path];
}

void FakeStats::requestFinished() { _inFlight.fetch_sub(1); }

void FakeStats::streamCancelled() { _cancelled.fetch_add(1); }

void FakeStats::prefillSeen() { _prefills.fetch_add(1); }

void FakeStats::recordLastRequest(nlohmann::json request) {
    std::lock_guard lock(_mutex);
    _lastRequest = std::move(request);
}

void FakeStats::reset() {
    _requests = 0;
    _maxInFlight = _inFlight.load();
    _connections = 0;
    _cancelled = 0;
    _prefills = 0;
    std::lock_guard lock(_mutex);
    _byPath.clear();
    _lastRequest = nullptr;
}

nlohmann::json FakeStats::toJson() const {
    nlohmann::json out = {{"requests", _requests.load()},
                          {"in_flight", _inFlight.load()},
                          {"max_in_flight", _maxInFlight.load()},
                          {"connections", _connections.load()},
                          {"cancelled", _cancelled.load()},
                          {"prefills", _prefills.load()}};
    std::lock_guard lock(_mutex);
    out["by_path"] = nlohmann::json::object();
    for (const auto& [path, count] : _byPath) out["by_path"][path] = count;
    out["last_request"] = _lastRequest;
    return out;
}

}  // namespace sluice::fake
