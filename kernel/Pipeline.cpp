#include "Pipeline.h"

#include <unistd.h>

#include <filesystem>
#include <set>

#include <Poco/Logger.h>

#include "AliasConfig.h"
#include "BackendConfig.h"
#include "DiscoveryLoop.h"
#include "HealthProber.h"
#include "KnownKeys.h"
#include "upstream/AnswerBudget.h"
#include "upstream/Forwarder.h"
#include "Logging.h"
#include "sluice/ConfigReader.h"
#include "sluice/WritablePath.h"

namespace sluice::kernel {

namespace {
template <class Stage>
std::unique_ptr<Stage> makeStage(const std::vector<std::shared_ptr<const LoadedPlugin>>& plugins,
                                 const std::map<std::string, StageFactory<Stage>>& (StageRegistry::*factories)() const,
                                 const std::string& key, const std::string& name, const StageSetup& setup) {
    std::string available;
    for (const auto& plugin : plugins) {
        const auto& registered = (plugin->stages.*factories)();
        if (auto it = registered.find(name); it != registered.end()) {
            std::unique_ptr<Stage> stage;
            try {
                stage = it->second(setup);
            } catch (const ConfigError&) {
                throw;
            } catch (const std::exception& e) {
                // A factory that could not build (a database it could not
                // reach, a file it could not read) is a configuration error too.
                throw ConfigError(key, "stage '" + name + "' from " + plugin->name + " failed to build: " + e.what());
            } catch (...) {
                throw ConfigError(key, "stage '" + name + "' from " + plugin->name + " failed to build");
            }
            if (!stage) throw ConfigError(key, "stage '" + name + "' from " + plugin->name + " failed to build");
            return stage;
        }
        for (const auto& [known, factory] : registered) available += (available.empty() ? "" : ", ") + known;
    }
    throw ConfigError(key, "unknown stage '" + name + "' (available: " + (available.empty() ? "none" : available) + ")");
}
} // namespace

Pipeline::Pipeline(Poco::AutoPtr<Poco::Util::AbstractConfiguration> config, MetricsRegistry& metrics)
    : _config(std::move(config)), _metrics(metrics), _forwarderLog(logger("forwarder")),
      _catalog(std::make_shared<const Catalog>()) {}

Pipeline::~Pipeline() { stop(); }

std::shared_ptr<Pipeline> Pipeline::build(Poco::AutoPtr<Poco::Util::AbstractConfiguration> config,
                                          const std::string& pluginDirectory, MetricsRegistry& metrics,
                                          BuildPurpose purpose) {
    std::shared_ptr<Pipeline> pipeline(new Pipeline(std::move(config), metrics));
    auto& self = *pipeline;
    ConfigReader reader(*self._config);

    // Plugins first: their declared keys complete the list a typo is checked
    // against, before any value is read or any stage opens a store.
    self._plugins = PluginLoader().load(pluginDirectory, reader.list("plugins.load"), "plugins.load");
    auto known = KnownKeys::kernel();
    for (const auto& plugin : self._plugins) known.add(plugin->stages.declaredKeys());
    known.check(*self._config);

    self._settings.maxBodyBytes =
        static_cast<std::size_t>(reader.integer("limits.max_body_bytes", 262144, 1024, 256LL * 1024 * 1024));
    self._settings.discoveryInterval = std::chrono::seconds(reader.integer("discovery.interval_s", 60, 1, 86400));
    self._settings.discoveryTimeout = reader.millis("discovery.timeout_ms", std::chrono::milliseconds(5000));
    self._settings.discoveryTtl = std::chrono::seconds(reader.integer("discovery.ttl_s", 120, 1, 7 * 86400));
    self._settings.accessLog = accessLogEnabled(*self._config);
    AnswerBudget::process().setLimit(static_cast<std::size_t>(
        reader.integer("limits.answer_buffer_bytes", 256LL * 1024 * 1024, 1024 * 1024, 1LL << 40)));
    AnswerBudget::process().reportTo(metrics.gauge(
        "sluice_answer_buffer_bytes", "Bytes of whole answers held in memory now, across all requests (limits.answer_buffer_bytes)."));
    self._settings.maxStream = std::chrono::seconds(reader.integer("timeout.max_stream_s", 0, 0, 7 * 86400));
    self._settings.requestTimeout = reader.millis("timeout.request_ms", std::chrono::milliseconds(600000));
    self._settings.queue = parseQueueSettings(reader);
    self._settings.redis = redis::readRedisSettings(*self._config);
    self._settings.redisUrlText = self._settings.redis.url ? reader.text("redis.url") : std::string();
    self._settings.slotLeaseTtl = std::chrono::milliseconds(reader.integer("slots.lease_ttl_ms", 30000, 3000, 3600000));
    try {
        self._settings.trustedProxies = TrustedProxies(reader.list("server.trusted_proxies"));
    } catch (const std::invalid_argument& e) {
        throw ConfigError("server.trusted_proxies", e.what());
    }
    try {
        self._settings.cors = CorsPolicy(reader.list("server.cors.origins"));
    } catch (const std::invalid_argument& e) {
        throw ConfigError("server.cors.origins", e.what());
    }

    self._backends = parseBackends(*self._config);
    for (const auto& backend : self._backends) {
        if (backend->coldLoadTimeout > self._settings.requestTimeout)
            self.logger("kernel").warning("backends.%s: a first-byte wait of %Ld ms is cut to timeout.request_ms (%Ld ms)",
                                          backend->name, static_cast<long long>(backend->coldLoadTimeout.count()),
                                          static_cast<long long>(self._settings.requestTimeout.count()));
        if (backend->scheme == "https" && !backend->tlsVerify)
            self.logger("kernel").warning("INSECURE: backends.%s.tls.verify = false: its certificate is not checked",
                                          backend->name);
        self._backendsByName.emplace(backend->name, backend);
        self._slotLimits.emplace(backend->name, parseSlotLimits(reader, backend->name));
        self._upstreams.emplace(backend->name, std::make_unique<Upstream>(backend, metrics, self._slotLimits.at(backend->name)));
    }
    HealthPolicy policy;
    policy.failureThreshold = static_cast<int>(reader.integer("health.failure_threshold", 3, 1, 1000));
    policy.baseBackoff = reader.millis("health.backoff_ms", std::chrono::milliseconds(1000));
    policy.maxBackoff = reader.millis("health.max_backoff_ms", std::chrono::milliseconds(60000));
    // 0 turns active probes off: the circuit then learns only from requests.
    self._settings.probeInterval = std::chrono::milliseconds(reader.integer("health.probe_interval_ms", 5000, 0, 3600000));
    self._settings.probeTimeout = reader.millis("health.probe_timeout_ms", std::chrono::milliseconds(2000));
    self._health = std::make_unique<BackendHealth>(self._backends, policy, &metrics);
    self._aliases = parseAliases(*self._config, self._backends);

    auto setupFor = [&self, purpose](const std::string& kind, const std::string& name) {
        self._views.push_back(self._config->createView(kind));
        self._stageNames.push_back(kind + "=" + name);
        return StageSetup{name, *self._views.back(), ConfigReader(*self._views.back(), kind + "."), self, purpose};
    };

    const auto authName = reader.text("pipeline.auth");
    if (authName.empty())
        throw ConfigError("pipeline.auth", "is required (apikey in production, allow-all for development only)");
    self._auth = makeStage(self._plugins, &StageRegistry::auth, "pipeline.auth", authName, setupFor("auth", authName));

    const auto limitsName = reader.text("pipeline.limits", "none");
    if (limitsName != "none")
        self._limits =
            makeStage(self._plugins, &StageRegistry::limits, "pipeline.limits", limitsName, setupFor("limits", limitsName));

    const auto routerName = reader.text("pipeline.router", "priority");
    self._router =
        makeStage(self._plugins, &StageRegistry::routers, "pipeline.router", routerName, setupFor("router", routerName));

    const auto sinkNames = reader.list("pipeline.audit");
    if (std::set<std::string>(sinkNames.begin(), sinkNames.end()).size() != sinkNames.size())
        throw ConfigError("pipeline.audit", "names a sink twice");
    self._auditSinkNames = sinkNames;
    for (const auto& sinkName : sinkNames)
        self._auditSinks.push_back(makeStage(self._plugins, &StageRegistry::auditSinks, "pipeline.audit", sinkName,
                                             setupFor("audit", sinkName)));
    if (!sinkNames.empty()) {
        self._auditSettings = readAuditWriterSettings(*self._config);
        // A spill folder that cannot exist fails start-up, not the first
        // outage. A check makes nothing: it asks whether the folder could be.
        const auto& spill = self._auditSettings.spillDirectory;
        if (purpose == BuildPurpose::Check) {
            if (const auto why = whyNotWritable(spill); !why.empty())
                throw ConfigError("audit.spill_dir", "cannot write to " + spill.string() + ": " + why);
        } else {
            std::error_code error;
            std::filesystem::create_directories(spill, error);
            if (error || ::access(spill.c_str(), W_OK) != 0)
                throw ConfigError("audit.spill_dir",
                                  "cannot write to " + spill.string() + (error ? ": " + error.message() : std::string()));
        }
    }

    const auto discoveryName = reader.text("pipeline.discovery", "poll");
    self._discovery = makeStage(self._plugins, &StageRegistry::discovery, "pipeline.discovery", discoveryName,
                                setupFor("discovery", discoveryName));
    return pipeline;
}

void Pipeline::start(AuditWriters& writers) {
    _health->publish();
    for (std::size_t i = 0; i < _auditSinks.size(); ++i)
        _auditWriters.push_back(writers.attach(_auditSinkNames[i], _auditSinks[i], _auditSettings));
    _discoveryLoop = std::make_unique<DiscoveryLoop>(*this);
    _discoveryLoop->pollOnce();
    _discoveryLoop->startBackground();
    _prober = std::make_unique<HealthProber>(*this, ProbeSettings{_settings.probeInterval, _settings.probeTimeout});
    _prober->startBackground();
}

void Pipeline::stop() {
    if (_prober) _prober->stop();
    if (_discoveryLoop) _discoveryLoop->stop();
    // The writers only this pipeline uses flush side by side, so shutdown
    // takes one audit.shutdown_flush_ms at most, not one per sink.
    for (auto& writer : _auditWriters)
        if (writer.use_count() == 1) writer->beginStop();
    _auditWriters.clear();
}

void Pipeline::audit(AuditEntry entry) {
    if (_auditWriters.empty()) return;
    for (std::size_t i = 0; i + 1 < _auditWriters.size(); ++i) _auditWriters[i]->enqueue(entry);
    _auditWriters.back()->enqueue(std::move(entry));
}

Poco::Logger& Pipeline::logger(const std::string& name) { return Poco::Logger::get("sluice." + name); }

std::shared_ptr<const Backend> Pipeline::backend(const std::string& name) const {
    auto it = _backendsByName.find(name);
    return it == _backendsByName.end() ? nullptr : it->second;
}

ForwardingServices Pipeline::forwarding() {
    return {_upstreams, *_health, _forwarderLog, _settings.maxStream, catalog(), aliases(), _settings.requestTimeout, _settings.queue};
}

std::string Pipeline::describe() const {
    std::string out;
    for (const auto& name : _stageNames) out += (out.empty() ? "" : " ") + name;
    return out;
}

} // namespace sluice::kernel
