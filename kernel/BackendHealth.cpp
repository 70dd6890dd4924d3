#include "BackendHealth.h"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace sluice::kernel {

std::string_view circuitName(CircuitState state) {
    switch (state) {
    case CircuitState::Closed: return "closed";
    case CircuitState::Open: return "open";
    case CircuitState::HalfOpen: return "half_open";
    }
    return "closed";
}

namespace {
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Whether `text` holds an IPv4 address (four groups of 1-3 digits joined by
// dots) or a bracketed IPv6 one. A scan, not std::regex: libstdc++'s regex
// recurses once per character, and a backend's message of a few thousand
// hex digits overflowed a request's stack with it.
bool holdsAddress(std::string_view text) {
    for (std::size_t start = 0; start < text.size(); ++start) {
        if (text[start] == '[') {
            std::size_t at = start + 1;
            while (at < text.size() && (std::isxdigit(static_cast<unsigned char>(text[at])) || text[at] == ':' || text[at] == '.')) ++at;
            if (at > start + 1 && at < text.size() && text[at] == ']') return true;
            continue;
        }
        std::size_t at = start;
        int groups = 0;
        for (; groups < 4; ++groups) {
            std::size_t digits = 0;
            while (digits < 3 && at < text.size() && isDigit(text[at])) ++at, ++digits;
            if (digits == 0) break;
            if (groups == 3) continue;
            if (at >= text.size() || text[at] != '.') break;
            ++at;
        }
        if (groups == 4) return true;
    }
    return false;
}
} // namespace

bool revealsBackend(const std::string& text, const Backend& backend) {
    // Poco puts the resolved address ("10.1.2.3:11434", "[fd00::1]:11434")
    // into some connect errors, so the host name alone is not enough.
    return text.find("://") != std::string::npos || (!backend.host.empty() && text.find(backend.host) != std::string::npos) ||
           holdsAddress(text);
}

std::string healthSafe(const std::string& text, const Backend& backend, const std::string& fallback) {
    if (text.empty() || revealsBackend(text, backend)) return fallback;
    return text.size() > 200 ? text.substr(0, 200) : text;
}

namespace {
// Models come from plans (the catalog and the aliases), so the table stays
// small; the cap bounds it should a backend list thousands.
constexpr std::size_t kMaxModelCircuits = 4096;
} // namespace

BackendHealth::BackendHealth(const BackendList& backends, HealthPolicy policy, MetricsRegistry* metrics)
    : _policy(std::move(policy)), _circuitPolicy{_policy.failureThreshold, _policy.baseBackoff, _policy.maxBackoff},
      _metrics(metrics) {
    if (!_policy.clock) _policy.clock = [] { return std::chrono::steady_clock::now(); };
    for (const auto& backend : backends) {
        auto state = std::make_unique<State>();
        if (metrics) {
            state->healthy = &metrics->gauge("sluice_backend_healthy",
                                             "1 while the backend's circuit is closed, 0 while it is open or half-open.",
                                             {{"backend", backend->name}});
            // Not set here: a pipeline built by a reload that is then
            // refused must not overwrite the running pipeline's figures.
            // publish() does it when this health state goes live.
        }
        _states.emplace(backend->name, std::move(state));
    }
}

long long BackendHealth::nowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(_policy.clock().time_since_epoch()).count();
}

std::chrono::system_clock::time_point BackendHealth::untilOf(const Circuit& circuit) const {
    const auto remaining = std::chrono::milliseconds(circuit.openUntilMs() - nowMs());
    return std::chrono::system_clock::now() + std::max(remaining, std::chrono::milliseconds(0));
}

BackendHealth::State* BackendHealth::find(const std::string& backend) const {
    auto it = _states.find(backend);
    return it == _states.end() ? nullptr : it->second.get();
}

BackendHealth::ModelState* BackendHealth::findModel(const std::string& backend, const std::string& model) const {
    std::shared_lock lock(_modelsMutex);
    auto it = _models.find(ModelKey{backend, model});
    return it == _models.end() ? nullptr : it->second.get();
}

BackendHealth::ModelState* BackendHealth::modelState(const std::string& backend, const std::string& model) {
    if (auto* found = findModel(backend, model)) return found;
    if (!find(backend)) return nullptr;
    std::unique_lock lock(_modelsMutex);
    auto& slot = _models[ModelKey{backend, model}];
    if (!slot) {
        if (_models.size() > kMaxModelCircuits) {
            _models.erase(ModelKey{backend, model});
            return nullptr;
        }
        slot = std::make_unique<ModelState>();
        if (_metrics)
            slot->healthy = &_metrics->gauge("sluice_model_healthy",
                                             "1 while a model's circuit on a backend is closed, 0 while it is open or "
                                             "half-open; a series appears when the model first fails.",
                                             {{"backend", backend}, {"model", model}});
        if (slot->healthy) slot->healthy->set(1);
    }
    return slot.get();
}

CircuitState BackendHealth::circuit(const std::string& backend) const {
    const auto* state = find(backend);
    return state ? state->circuit.state(nowMs()) : CircuitState::Open;
}

bool BackendHealth::isAvailable(const std::string& backend) const {
    const auto* state = find(backend);
    return state && state->circuit.available(nowMs());
}

CircuitState BackendHealth::modelCircuit(const std::string& backend, const std::string& model) const {
    const auto* state = findModel(backend, model);
    return state ? state->circuit.state(nowMs()) : CircuitState::Closed;
}

bool BackendHealth::isModelAvailable(const std::string& backend, const std::string& model) const {
    const auto* state = findModel(backend, model);
    return !state || state->circuit.available(nowMs());
}

int BackendHealth::inFlight(const std::string& backend) const {
    const auto* state = find(backend);
    const int here = state ? state->inFlight.load(std::memory_order_relaxed) : 0;
    return _sharedInFlight ? std::max(here, _sharedInFlight(backend)) : here;
}

int BackendHealth::consecutiveFailures(const std::string& backend) const {
    const auto* state = find(backend);
    return state ? state->circuit.consecutiveFailures() : 0;
}

void BackendHealth::publish() {
    for (auto& [name, state] : _states)
        if (state->healthy) state->healthy->set(1);  // every circuit starts closed
}

void BackendHealth::recordSuccess(const std::string& backend, const std::string& model) {
    auto* state = find(backend);
    if (!state) return;
    state->circuit.succeed();
    if (state->healthy) state->healthy->set(1);
    if (model.empty()) return;
    if (auto* modelState = findModel(backend, model)) {
        modelState->circuit.succeed();
        if (modelState->healthy) modelState->healthy->set(1);
    }
}

void BackendHealth::recordFailure(const std::string& backend, const std::string& error) {
    auto* state = find(backend);
    if (!state) return;
    if (state->circuit.fail(nowMs(), _circuitPolicy, error) && state->healthy) state->healthy->set(0);
}

void BackendHealth::recordModelFailure(const std::string& backend, const std::string& model, const std::string& error) {
    auto* state = modelState(backend, model);
    if (!state) return;
    if (state->circuit.fail(nowMs(), _circuitPolicy, error) && state->healthy) state->healthy->set(0);
}

void BackendHealth::recordFirstByte(const std::string& backend, const std::string& model, std::chrono::nanoseconds elapsed) {
    auto* state = find(backend);
    if (!state) return;
    const double sample = std::chrono::duration<double, std::milli>(elapsed).count();
    const double weight = _policy.latencyWeight;
    auto blend = [&](std::optional<double>& average) { average = average ? *average + weight * (sample - *average) : sample; };
    std::unique_lock lock(state->latencyMutex);
    auto it = state->firstByteByModel.find(model);
    if (it == state->firstByteByModel.end()) {
        // Bounded by the catalog in practice; a cap keeps a client inventing names from growing it.
        if (state->firstByteByModel.size() < 4096) state->firstByteByModel.emplace(model, sample);
    } else {
        it->second += weight * (sample - it->second);
    }
    blend(state->firstByteAll);
}

std::optional<double> BackendHealth::firstByteMillis(const std::string& backend, const std::string& model) const {
    const auto* state = find(backend);
    if (!state) return std::nullopt;
    std::shared_lock lock(state->latencyMutex);
    auto it = state->firstByteByModel.find(model);
    if (it == state->firstByteByModel.end()) return std::nullopt;
    return it->second;
}

Trials BackendHealth::beginRequest(const std::string& backend, const std::string& model) {
    Trials trials;
    auto* state = find(backend);
    if (!state) return trials;
    state->inFlight.fetch_add(1, std::memory_order_relaxed);
    const auto now = nowMs();
    trials.backend = state->circuit.takeTrial(now);
    if (auto* modelState = model.empty() ? nullptr : findModel(backend, model)) trials.model = modelState->circuit.takeTrial(now);
    return trials;
}

void BackendHealth::endRequest(const std::string& backend, const std::string& model, Trials trials) {
    auto* state = find(backend);
    if (!state) return;
    state->inFlight.fetch_sub(1, std::memory_order_relaxed);
    const auto now = nowMs();
    if (trials.backend) state->circuit.releaseTrial(now);
    if (auto* modelState = trials.model ? findModel(backend, model) : nullptr) modelState->circuit.releaseTrial(now);
}

void BackendHealth::releaseTrial(const std::string& backend) {
    if (auto* state = find(backend)) state->circuit.releaseTrial(nowMs());
}

bool BackendHealth::takeTrial(const std::string& backend) {
    auto* state = find(backend);
    return state && state->circuit.takeTrial(nowMs());
}

void BackendHealth::noteFailover(const std::string& backend) {
    if (auto* state = find(backend)) state->failoversFrom.fetch_add(1, std::memory_order_relaxed);
}

HealthReport BackendHealth::report(const std::string& backend) const {
    HealthReport report;
    const auto* state = find(backend);
    if (!state) return report;
    report.state = state->circuit.state(nowMs());
    report.consecutiveFailures = state->circuit.consecutiveFailures();
    report.inFlight = state->inFlight.load(std::memory_order_relaxed);
    report.failoversFrom = state->failoversFrom.load(std::memory_order_relaxed);
    if (report.state != CircuitState::Closed) report.unhealthyUntil = untilOf(state->circuit);
    std::tie(report.lastError, report.lastErrorAt) = state->circuit.lastError();
    std::shared_lock lock(state->latencyMutex);
    report.firstByteMillis = state->firstByteAll;
    return report;
}

std::vector<ModelHealthReport> BackendHealth::modelReports(const std::string& backend) const {
    std::vector<ModelHealthReport> reports;
    std::shared_lock lock(_modelsMutex);
    for (auto it = _models.lower_bound(ModelKey{backend, {}}); it != _models.end() && it->first.first == backend; ++it) {
        const auto& circuit = it->second->circuit;
        ModelHealthReport report{it->first.second, circuit.state(nowMs()), circuit.consecutiveFailures(), {}, {}, {}};
        if (report.state == CircuitState::Closed && report.consecutiveFailures == 0) continue;
        if (report.state != CircuitState::Closed) report.unhealthyUntil = untilOf(circuit);
        std::tie(report.lastError, report.lastErrorAt) = circuit.lastError();
        reports.push_back(std::move(report));
    }
    return reports;
}

} // namespace sluice::kernel
