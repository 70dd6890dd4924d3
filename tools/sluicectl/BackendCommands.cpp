#include "BackendCommands.h"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <Poco/Net/SSLManager.h>
#include <nlohmann/json.hpp>

#include "BackendConfig.h"
#include "Config.h"
#include "Pipeline.h"
#include "SluiceServer.h"
#include "sluice/BackendFetch.h"
#include "sluice/ConfigError.h"

namespace sluicectl {

namespace {

using sluice::Backend;
using sluice::BackendKind;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kDefaultProbeTimeoutMs = 5000;
constexpr std::int64_t kMaxProbeTimeoutMs = 600000;

// What talking to backends needs once per process: TLS for https backends,
// and a peer that closes early must fail a write, not end sluicectl.
void prepareNetwork() {
    static const bool ready = [] {
        std::signal(SIGPIPE, SIG_IGN);
        Poco::Net::initializeSSL();
        return true;
    }();
    (void)ready;
}


const char* authText(const Backend& backend) { return backend.authToken.empty() ? "none" : "attached"; }

std::string plural(std::size_t count, const std::string& noun) {
    return std::to_string(count) + " " + noun + (count == 1 ? "" : "s");
}

std::string joinedNames(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
    return out;
}

// ---- backends probe -------------------------------------------------------

// One backend's probe. `reachable`: every request was answered as expected;
// `unreachable`: the first request got no answer at all (refused, timed out,
// TLS, DNS); `failed`: it answered, but not as a backend of its kind should
// (401 for a wrong token, 404 for a wrong URL, no JSON, no model list).
struct Probe {
    std::string state;
    std::optional<std::string> version;         // Ollama only
    std::optional<std::size_t> models;          // when the model list was read
    std::optional<std::int64_t> roundTripMs;    // of the first request, when it was answered
    int status = 0;                             // the HTTP status of the failed request
    std::string reason;                         // why it is not reachable; never the token
    bool ok() const { return state == "reachable"; }
};

// The length of the model list, or nullopt when the answer has none.
std::optional<std::size_t> modelCount(const nlohmann::json& answer, BackendKind kind) {
    const char* listKey = kind == BackendKind::Ollama ? "models" : "data";
    if (!answer.is_object() || !answer.contains(listKey) || !answer[listKey].is_array()) return std::nullopt;
    return answer[listKey].size();
}

// Ollama: /api/version (timed), then /api/tags. OpenAI and Anthropic kinds: their model list (timed),
// as nothing standard tells its version. All within `timeout` together.
Probe probe(const Backend& backend, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    auto timeLeft = [&] {
        return std::max(std::chrono::milliseconds(1),
                        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    };
    Probe result;
    auto failed = [&](const sluice::FetchResult& fetched, bool first) {
        result.state = first && fetched.status == 0 ? "unreachable" : "failed";
        result.status = fetched.status;
        result.reason = fetched.error;
        return result;
    };

    const bool ollama = backend.kind == BackendKind::Ollama;
    const auto first = sluice::fetchJson(backend, ollama ? "/api/version" : backend.modelListPath(), timeout);
    if (first.status != 0) result.roundTripMs = first.roundTrip.count();
    if (!first.ok) return failed(first, true);

    const auto* list = &first;
    sluice::FetchResult tags;
    if (ollama) {
        const auto version = first.body.is_object() ? first.body.value("version", nlohmann::json()) : nlohmann::json();
        if (version.is_string()) result.version = version.get<std::string>();
        tags = sluice::fetchJson(backend, "/api/tags", timeLeft());
        if (!tags.ok) return failed(tags, false);
        list = &tags;
    }
    result.models = modelCount(list->body, backend.kind);
    if (!result.models) {
        result.state = "failed";
        result.status = list->status;
        result.reason = std::string(ollama ? "/api/tags" : "/models") + " answered without a model list";
        return result;
    }
    result.state = "reachable";
    return result;
}

nlohmann::json probeJson(const Backend& backend, const Probe& probe) {
    auto orNull = [](const auto& value) { return value ? nlohmann::json(*value) : nlohmann::json(nullptr); };
    return {{"name", backend.name},
            {"kind", backendKindName(backend.kind)},
            {"state", probe.state},
            {"ok", probe.ok()},
            {"version", orNull(probe.version)},
            {"models", orNull(probe.models)},
            {"round_trip_ms", orNull(probe.roundTripMs)},
            {"auth", authText(backend)},
            {"status", probe.status == 0 ? nlohmann::json(nullptr) : nlohmann::json(probe.status)},
            {"error", probe.ok() ? nlohmann::json(nullptr) : nlohmann::json(backendSafeLine(probe.reason, backend))}};
}

// backend gpu: reachable, ollama, version 0.6.5, 3 models, 2 ms, auth: attached
// backend dead: unreachable, ollama, auth: none, reason: /api/version: connection refused
std::string probeLine(const Backend& backend, const Probe& probe) {
    std::string line = "backend " + backend.name + ": " + probe.state + ", " + backendKindName(backend.kind);
    if (probe.ok()) line += ", version " + probe.version.value_or("-") + ", " + plural(*probe.models, "model");
    if (probe.roundTripMs) line += ", " + std::to_string(*probe.roundTripMs) + " ms";
    line += std::string(", auth: ") + authText(backend);
    if (!probe.ok()) line += ", reason: " + backendSafeLine(probe.reason, backend);
    return line;
}

int backendsProbe(const CommandLine& line) {
    line.allow("backends probe", {"--timeout-ms"}, 2);
    const std::chrono::milliseconds timeout(line.number("--timeout-ms", 1, kMaxProbeTimeoutMs).value_or(kDefaultProbeTimeoutMs));
    sluice::BackendList backends;
    try {
        backends = sluice::kernel::parseBackends(*sluice::kernel::loadConfig(line.configPath("the backends")));
    } catch (const sluice::ConfigError& e) {
        throw CommandFailed(std::string("configuration error: ") + e.what());
    }
    prepareNetwork();

    // All at once: each is bounded by the timeout, so a slow one delays no other.
    std::vector<std::future<Probe>> running;
    for (const auto& backend : backends)
        running.push_back(std::async(std::launch::async, [backend, timeout] { return probe(*backend, timeout); }));
    std::vector<Probe> probes;
    for (auto& future : running) probes.push_back(future.get());

    std::vector<std::string> failing;
    for (std::size_t i = 0; i < backends.size(); ++i)
        if (!probes[i].ok()) failing.push_back(backends[i]->name);
    const auto reachable = backends.size() - failing.size();
    if (line.json()) {
        auto list = nlohmann::json::array();
        for (std::size_t i = 0; i < backends.size(); ++i) list.push_back(probeJson(*backends[i], probes[i]));
        std::cout << nlohmann::json{{"backends", list}, {"reachable", reachable}, {"total", backends.size()}}.dump() << "\n";
    } else {
        for (std::size_t i = 0; i < backends.size(); ++i) std::cout << probeLine(*backends[i], probes[i]) << "\n";
        std::cout << reachable << " of " << plural(backends.size(), "backend") << " reachable\n";
    }
    std::cout.flush();
    if (!failing.empty()) throw CommandFailed("probe failed: " + joinedNames(failing));
    return kExitOk;
}

// ---- models ---------------------------------------------------------------

// Names that are the same model to a client ("llama3.2" is "llama3.2:latest"),
// counted once: the catalog's union is exact names, first backend first.
std::vector<std::string> distinctModels(const sluice::Catalog& catalog) {
    std::vector<std::string> names;
    for (const auto& model : catalog.allModels()) {
        const bool known = std::any_of(names.begin(), names.end(), [&](const std::string& name) {
            return sluice::sameModel(name, model.name) || sluice::sameModel(model.name, name);
        });
        if (!known) names.push_back(model.name);
    }
    return names;
}

int models(const CommandLine& line) {
    line.allow("models", {}, 1);
    const auto path = line.configPath("the backends");
    sluice::MetricsRegistry metrics;  // outlives the pipeline, which keeps a reference
    std::shared_ptr<sluice::kernel::Pipeline> pipeline;
    try {
        auto config = sluice::kernel::loadConfig(path);
        const auto binaryDirectory = std::filesystem::canonical("/proc/self/exe").parent_path().string();
        pipeline = sluice::kernel::Pipeline::build(config, sluice::kernel::pluginDirectory(*config, binaryDirectory),
                                                   metrics, sluice::BuildPurpose::Check);
    } catch (const sluice::ConfigError& e) {
        throw CommandFailed(std::string("configuration error: ") + e.what());
    }
    prepareNetwork();

    // As sluiced's discovery loop polls: every backend at once, through the
    // configured stage, with discovery.timeout_ms; a throwing stage is a failed poll.
    const auto& backends = pipeline->backends();
    const auto timeout = pipeline->settings().discoveryTimeout;
    auto& discovery = pipeline->discovery();
    std::vector<std::future<sluice::DiscoveryResult>> running;
    for (const auto& backend : backends)
        running.push_back(std::async(std::launch::async, [&discovery, backend, timeout] {
            try {
                return discovery.poll(*backend, timeout);
            } catch (const std::exception& e) {
                return sluice::DiscoveryResult{false, e.what(), {}, {}};
            }
        }));
    std::vector<sluice::DiscoveryResult> results;
    for (auto& future : running) results.push_back(future.get());

    std::vector<std::string> order;
    std::map<std::string, sluice::BackendModels> byBackend;
    std::vector<std::string> failing;
    for (std::size_t i = 0; i < backends.size(); ++i) {
        order.push_back(backends[i]->name);
        if (!results[i].ok) {
            failing.push_back(backends[i]->name);
            continue;
        }
        auto& polled = byBackend[backends[i]->name];
        polled.models = results[i].models;
        polled.loaded = results[i].loaded;
        polled.ever = true;
    }
    const sluice::Catalog catalog(order, byBackend);
    const auto distinct = distinctModels(catalog);
    const auto answered = backends.size() - failing.size();

    if (line.json()) {
        auto list = nlohmann::json::array();
        for (std::size_t i = 0; i < backends.size(); ++i) {
            const auto& backend = *backends[i];
            auto models = nlohmann::json::array();
            for (const auto& model : results[i].models)
                models.push_back({{"name", model.name}, {"loaded", catalog.isLoaded(backend.name, model.name)}});
            list.push_back({{"name", backend.name},
                            {"kind", backendKindName(backend.kind)},
                            {"ok", results[i].ok},
                            {"error", results[i].ok ? nlohmann::json(nullptr) : nlohmann::json(backendSafeLine(results[i].error, backend))},
                            {"models", models}});
        }
        std::cout << nlohmann::json{{"backends", list}, {"union", distinct}, {"union_count", distinct.size()}}.dump() << "\n";
    } else {
        for (std::size_t i = 0; i < backends.size(); ++i) {
            const auto& backend = *backends[i];
            std::cout << "backend " << backend.name << " (" << backendKindName(backend.kind) << "): ";
            if (!results[i].ok) {
                std::cout << "failed: " << backendSafeLine(results[i].error, backend) << "\n";
                continue;
            }
            std::size_t loaded = 0;
            for (const auto& model : results[i].models) loaded += catalog.isLoaded(backend.name, model.name) ? 1 : 0;
            std::cout << plural(results[i].models.size(), "model")
                      << (backend.kind == BackendKind::Ollama ? ", " + std::to_string(loaded) + " loaded" : std::string()) << "\n";
            for (const auto& model : results[i].models)
                std::cout << "  " << model.name << (catalog.isLoaded(backend.name, model.name) ? "  (loaded)" : "") << "\n";
        }
        std::cout << plural(distinct.size(), "distinct model") << " on " << answered << " of "
                  << plural(backends.size(), "backend") << "\n";
    }
    std::cout.flush();
    if (!failing.empty()) throw CommandFailed("model poll failed: " + joinedNames(failing));
    return kExitOk;
}

} // namespace

int runBackends(const CommandLine& line) {
    const auto& action = line.word(1, "backends command (probe)");
    if (action == "probe") return backendsProbe(line);
    throw UsageError("unknown backends command '" + action + "' (probe)");
}

int runModels(const CommandLine& line) { return models(line); }

} // namespace sluicectl
