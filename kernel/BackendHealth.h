#pragma once
// A circuit breaker per backend, fed by the forwarder's outcomes and by the
// health prober: after `failureThreshold` failures in a row the circuit opens
// and the backend is put last by routers for a back-off that doubles on each
// further failure, up to a cap. When the back-off runs out the circuit is
// half-open: the first request (or probe) to reach it is its trial, and the
// others keep avoiding it until the trial ends. Success closes the circuit.
// Also keeps requests in flight and a moving average of time to first byte
// per model. Counters are lock-free atomics; the latency table and the last
// error take a short lock.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "sluice/Backend.h"
#include "sluice/Health.h"
#include "sluice/Metrics.h"

namespace sluice::kernel {

struct HealthPolicy {
    int failureThreshold = 3;
    std::chrono::milliseconds baseBackoff{1000};
    std::chrono::milliseconds maxBackoff{60000};
    // Weight of the newest time-to-first-byte sample in the moving average.
    double latencyWeight = 0.3;
    // Injectable for tests; steady_clock::now by default.
    std::function<std::chrono::steady_clock::time_point()> clock;
};

// What /v1/health shows of one backend.
struct HealthReport {
    CircuitState state = CircuitState::Closed;
    int consecutiveFailures = 0;
    std::string lastError;  // sanitized: no host, URL or token
    std::chrono::system_clock::time_point lastErrorAt{};
    std::chrono::system_clock::time_point unhealthyUntil{};  // epoch when closed
    int inFlight = 0;
    std::optional<double> firstByteMillis;  // over all models
};

class BackendHealth final : public HealthView {
public:
    // `metrics` may be null (tests); otherwise sluice_backend_healthy{backend} is kept.
    BackendHealth(const BackendList& backends, HealthPolicy policy, MetricsRegistry* metrics = nullptr);

    bool isAvailable(const std::string& backend) const override;
    int inFlight(const std::string& backend) const override;
    CircuitState circuit(const std::string& backend) const override;
    std::optional<double> firstByteMillis(const std::string& backend, const std::string& model) const override;

    // Sets sluice_backend_healthy for every backend: once the pipeline that
    // owns this goes live (Pipeline::start).
    void publish();
    void recordSuccess(const std::string& backend);
    // `error` is shown on /v1/health: pass a sanitized description.
    void recordFailure(const std::string& backend, const std::string& error = {});
    void recordFirstByte(const std::string& backend, const std::string& model, std::chrono::nanoseconds elapsed);
    // An attempt on the backend begins. True if it took the trial of a
    // half-open circuit: then endRequest must be told, so a trial that ended
    // without a verdict (the client left) is given back.
    bool beginRequest(const std::string& backend);
    void endRequest(const std::string& backend, bool tookTrial = false);
    // Takes the trial of a half-open circuit for a probe; false if it is not
    // half-open or a request already took it (the probe then waits for it).
    bool takeTrial(const std::string& backend);
    // Gives back a trial that ended without a verdict (the client left, the
    // probe could not start), if the circuit is still half-open.
    void releaseTrial(const std::string& backend);
    int consecutiveFailures(const std::string& backend) const;
    HealthReport report(const std::string& backend) const;

private:
    struct State {
        std::atomic<int> consecutiveFailures{0};
        std::atomic<long long> openUntilMs{0};  // 0: closed; else steady-clock ms when the back-off ends
        std::atomic<bool> trialTaken{false};
        std::atomic<int> inFlight{0};
        Gauge* healthy = nullptr;

        mutable std::mutex errorMutex;
        std::string lastError;
        std::chrono::system_clock::time_point lastErrorAt{};

        mutable std::shared_mutex latencyMutex;
        std::map<std::string, double, std::less<>> firstByteByModel;
        std::optional<double> firstByteAll;
    };
    State* find(const std::string& backend) const;
    long long nowMs() const;
    CircuitState stateOf(const State& state) const;

    HealthPolicy _policy;
    std::map<std::string, std::unique_ptr<State>> _states;  // fixed after construction
};

std::string_view circuitName(CircuitState state);

// Whether `text` (a library's error, a backend's message) would tell a
// client where a backend is: a URL, the backend's host, or an IP address.
bool revealsBackend(const std::string& text, const Backend& backend);

// `text` as /v1/health may show it as a backend's last error: cut to 200
// bytes, and replaced by `fallback` if it reveals the backend.
std::string healthSafe(const std::string& text, const Backend& backend, const std::string& fallback);

} // namespace sluice::kernel
