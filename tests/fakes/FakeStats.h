#pragma once
// What tests read back from GET /_fake/stats: how many requests and
// connections reached the backend, how many ran at once, which streams the
// client abandoned, and the last request exactly as forwarded. Counters are
// atomics; the two maps sit behind a short lock never held across I/O.

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace sluice::fake {

class FakeStats {
public:
    void connectionAccepted();
    // A model-route request (/api/*, /v1/*) began / ended.
    void requestStarted(const std::string& path);
    void requestFinished();
    void streamCancelled();
    // A chat request that ended with an assistant prefill (a gateway resuming an answer).
    void prefillSeen();
    void recordLastRequest(nlohmann::json request);
    // Zeroes the counters; requests still running stay counted in in_flight.
    void reset();
    nlohmann::json toJson() const;

private:
    std::atomic<long long> _requests{0};
    std::atomic<long long> _inFlight{0};
    std::atomic<long long> _maxInFlight{0};
    std::atomic<long long> _connections{0};
    std::atomic<long long> _cancelled{0};
    std::atomic<long long> _prefills{0};
    mutable std::mutex _mutex;
    std::map<std::string, long long> _byPath;
    nlohmann::json _lastRequest;
};

// Keeps in_flight right however a handler leaves (answer, reset, exception).
// A whole answer ends the request just before its bytes are written
// (finishNow): once the client can read it, the backend is done with it, and
// counting on until the handler's thread gets round to returning would make
// a client's next request look concurrent with it.
class InFlightGuard {
public:
    InFlightGuard(FakeStats& stats, const std::string& path) : _stats(stats) { _stats.requestStarted(path); }
    ~InFlightGuard() { finishNow(); }
    InFlightGuard(const InFlightGuard&) = delete;
    InFlightGuard& operator=(const InFlightGuard&) = delete;

    void finishNow() {
        if (!_finished) _stats.requestFinished();
        _finished = true;
    }

private:
    FakeStats& _stats;
    bool _finished = false;
};

}  // namespace sluice::fake
