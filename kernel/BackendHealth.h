#pragma once
// A circuit breaker (Circuit) per backend, fed by connect-level failures and
// by the health prober, and one per (backend, model), fed by model-level
// failures (a timeout, a 5xx, a broken answer): one model failing on a
// backend that serves others well opens only its own circuit, and another
// model's successes do not hide its failures. After `failureThreshold`
// failures in a row a circuit opens and routers put its candidates last for
// a back-off that doubles on each further failure, up to a cap. When the
// back-off runs out it is half-open: the first request (or probe, for a
// backend) to reach it is its trial. Success closes it.
// Also keeps requests in flight and a moving average of time to first byte
// per model. Counters are lock-free atomics; the latency table, the model
// circuits' table and the last error take a short lock.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>
#include <vector>

#include "Circuit.h"
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
    long long failoversFrom = 0;  // requests that moved on from it to another candidate, since this pipeline began
};

// What /v1/health shows of one model's circuit on a backend.
struct ModelHealthReport {
    std::string model;
    CircuitState state = CircuitState::Closed;
    int consecutiveFailures = 0;
    std::string lastError;
    std::chrono::system_clock::time_point lastErrorAt{};
    std::chrono::system_clock::time_point unhealthyUntil{};
};

// The half-open trials one attempt took, to give back if it ends without a verdict.
struct Trials {
    bool backend = false;
    bool model = false;
};

class BackendHealth final : public HealthView {
public:
    // `metrics` may be null (tests); otherwise sluice_backend_healthy{backend} is kept.
    BackendHealth(const BackendList& backends, HealthPolicy policy, MetricsRegistry* metrics = nullptr);

    bool isAvailable(const std::string& backend) const override;
    // This instance's requests on the backend, or, when slots are shared
    // through Redis and more are in flight there from all instances, those
    // (countShared): least-busy and resident order by the whole fleet's load.
    int inFlight(const std::string& backend) const override;
    // Where the whole fleet's count comes from; set before the pipeline
    // serves (Gateway::install), never after.
    void countShared(std::function<int(const std::string&)> sharedInFlight) { _sharedInFlight = std::move(sharedInFlight); }
    CircuitState circuit(const std::string& backend) const override;
    std::optional<double> firstByteMillis(const std::string& backend, const std::string& model) const override;
    CircuitState modelCircuit(const std::string& backend, const std::string& model) const override;
    bool isModelAvailable(const std::string& backend, const std::string& model) const override;

    // Sets sluice_backend_healthy for every backend: once the pipeline that
    // owns this goes live (Pipeline::start).
    void publish();
    // Closes the backend's circuit, and `model`'s on it when given.
    void recordSuccess(const std::string& backend, const std::string& model = {});
    // A connect-level failure. `error` is shown on /v1/health: pass a sanitized description.
    void recordFailure(const std::string& backend, const std::string& error = {});
    // A failure of one model on the backend; the backend's circuit is untouched.
    void recordModelFailure(const std::string& backend, const std::string& model, const std::string& error);
    void recordFirstByte(const std::string& backend, const std::string& model, std::chrono::nanoseconds elapsed);
    // An attempt on the backend's model begins. Says which half-open
    // circuits' trials it took: endRequest must be given them back, so a
    // trial that ended without a verdict (the client left) is released.
    Trials beginRequest(const std::string& backend, const std::string& model = {});
    void endRequest(const std::string& backend, const std::string& model = {}, Trials trials = {});
    // Takes the trial of a half-open circuit for a probe; false if it is not
    // half-open or a request already took it (the probe then waits for it).
    bool takeTrial(const std::string& backend);
    // Gives back a trial that ended without a verdict (the client left, the
    // probe could not start), if the circuit is still half-open.
    void releaseTrial(const std::string& backend);
    int consecutiveFailures(const std::string& backend) const;
    HealthReport report(const std::string& backend) const;
    // A request moved on from `backend` to another candidate.
    void noteFailover(const std::string& backend);
    // The backend's model circuits that are not closed or have failed since
    // they last succeeded, by model name.
    std::vector<ModelHealthReport> modelReports(const std::string& backend) const;

private:
    struct State {
        Circuit circuit;
        std::atomic<int> inFlight{0};
        std::atomic<long long> failoversFrom{0};
        Gauge* healthy = nullptr;

        mutable std::shared_mutex latencyMutex;
        std::map<std::string, double, std::less<>> firstByteByModel;
        std::optional<double> firstByteAll;
    };
    struct ModelState {
        Circuit circuit;
        Gauge* healthy = nullptr;
    };
    using ModelKey = std::pair<std::string, std::string>;  // (backend, model)
    State* find(const std::string& backend) const;
    ModelState* findModel(const std::string& backend, const std::string& model) const;
    // Made on a model's first failure; nullptr past the cap (a bounded table).
    ModelState* modelState(const std::string& backend, const std::string& model);
    long long nowMs() const;
    std::chrono::system_clock::time_point untilOf(const Circuit& circuit) const;

    HealthPolicy _policy;
    std::function<int(const std::string&)> _sharedInFlight;
    CircuitPolicy _circuitPolicy;
    MetricsRegistry* _metrics;
    std::map<std::string, std::unique_ptr<State>> _states;  // fixed after construction
    mutable std::shared_mutex _modelsMutex;
    std::map<ModelKey, std::unique_ptr<ModelState>> _models;  // grows only, up to kMaxModelCircuits
};

std::string_view circuitName(CircuitState state);

// Whether `text` (a library's error, a backend's message) would tell a
// client where a backend is: a URL, the backend's host, or an IP address.
bool revealsBackend(const std::string& text, const Backend& backend);

// `text` as /v1/health may show it as a backend's last error: cut to 200
// bytes, and replaced by `fallback` if it reveals the backend.
std::string healthSafe(const std::string& text, const Backend& backend, const std::string& fallback);

} // namespace sluice::kernel
