#pragma once
// One immutable pipeline: the stages named in `pipeline.*`, the backends, their
// connection pools and health, and the catalog their discovery keeps fresh.
// Built whole from a config, validated at build time, then only read by
// request threads. A reload builds a new one and swaps the pointer; requests
// already running keep the old one alive through their shared_ptr.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <Poco/AutoPtr.h>
#include <Poco/Util/AbstractConfiguration.h>

#include "BackendHealth.h"
#include "capacity/SlotLimits.h"
#include "sluice/redis/RedisSettings.h"
#include "PluginLoader.h"
#include "audit/AuditWriters.h"
#include "front/CorsPolicy.h"
#include "front/TrustedProxies.h"
#include "sluice/Plugin.h"

namespace sluice::kernel {

class DiscoveryLoop;
class HealthProber;
class Upstream;
struct ForwardingServices;

struct PipelineSettings {
    std::size_t maxBodyBytes = 262144;
    std::chrono::milliseconds discoveryInterval{60000};
    std::chrono::milliseconds discoveryTimeout{5000};
    std::chrono::milliseconds discoveryTtl{120000};
    TrustedProxies trustedProxies;  // server.trusted_proxies
    std::chrono::milliseconds probeInterval{5000};
    std::chrono::milliseconds probeTimeout{2000};
    bool accessLog = true;  // log.access
    CorsPolicy cors;        // server.cors.origins
    std::chrono::seconds maxStream{0};  // timeout.max_stream_s; 0: no cap
    std::chrono::milliseconds requestTimeout{600000};  // timeout.request_ms: until an answer begins
    QueueSettings queue;  // queue.max_wait_ms, queue.max_depth
    // Where backend slots are counted: redis.url (none: in this process),
    // and slots.lease_ttl_ms. Read here so check-config and a reload refuse
    // a bad value before the pipeline is installed.
    redis::RedisSettings redis;
    std::string redisUrlText;  // as written: a changed password is a changed store
    std::chrono::milliseconds slotLeaseTtl{30000};
};

class Pipeline final : public KernelServices {
public:
    // Loads plugins, builds every stage and validates all values.
    // Throws ConfigError naming the key on the first problem. Built for
    // BuildPurpose::Check (sluiced --check, sluicectl check-config and
    // models), it and its stages create and write nothing, and it is never
    // started.
    static std::shared_ptr<Pipeline> build(Poco::AutoPtr<Poco::Util::AbstractConfiguration> config,
                                           const std::string& pluginDirectory, MetricsRegistry& metrics,
                                           BuildPurpose purpose = BuildPurpose::Serve);
    ~Pipeline() override;

    // Attaches its audit sinks to their writers (the running ones of the same
    // names, else new ones), polls every backend once (bounded by the
    // discovery timeout), then keeps polling, and probing backends' health,
    // in the background until stop().
    void start(AuditWriters& writers);
    // Stops the background work and lets go of the audit writers: a writer no
    // other pipeline uses flushes (bounded by audit.shutdown_flush_ms; what a
    // sink did not take is spilled to disk) and ends. Call once no request of
    // this pipeline is running. Idempotent.
    void stop();

    // KernelServices
    Poco::Logger& logger(const std::string& name) override;
    MetricsRegistry& metrics() override { return _metrics; }
    const BackendList& backends() const override { return _backends; }
    std::shared_ptr<const Backend> backend(const std::string& name) const override;
    CatalogSnapshot catalog() const override { return _catalog.load(); }
    const HealthView& health() const override { return *_health; }
    const Poco::Util::AbstractConfiguration& config() const override { return *_config; }
    const AliasTable& aliases() const override { return _aliases; }

    void publishCatalog(CatalogSnapshot catalog) { _catalog.store(std::move(catalog)); }

    // backends.NAME.slots and model_slots; nullptr for a name it does not know.
    const SlotLimits* slotLimits(const std::string& backend) const {
        const auto it = _slotLimits.find(backend);
        return it == _slotLimits.end() ? nullptr : &it->second;
    }
    BackendHealth& backendHealth() { return *_health; }
    // What forwarding a request uses of this pipeline (upstream/Forwarder.h).
    ForwardingServices forwarding();
    const PipelineSettings& settings() const { return _settings; }

    AuthStage& auth() { return *_auth; }
    LimitsStage* limits() { return _limits.get(); }
    RouterStage& router() { return *_router; }
    // Whether any audit sink is configured (records are built only then).
    bool auditing() const { return !_auditSinks.empty(); }
    const AuditWriterSettings& auditSettings() const { return _auditSettings; }
    // Hands a finished request's record to every sink's writer. Thread: request
    // threads; never waits on a sink or the disk.
    void audit(AuditEntry entry);
    DiscoverySource& discovery() { return *_discovery; }

    // Names of the stages in use, for start-up logs and /v1/health.
    std::string describe() const;

private:
    Pipeline(Poco::AutoPtr<Poco::Util::AbstractConfiguration> config, MetricsRegistry& metrics);

    Poco::AutoPtr<Poco::Util::AbstractConfiguration> _config;
    MetricsRegistry& _metrics;
    // Looked up once: forwarding() runs per request, and Poco::Logger::get takes a global lock.
    Poco::Logger& _forwarderLog;
    PipelineSettings _settings;
    BackendList _backends;
    std::map<std::string, std::shared_ptr<const Backend>> _backendsByName;
    std::unique_ptr<BackendHealth> _health;
    std::map<std::string, SlotLimits> _slotLimits;
    AliasTable _aliases;
    std::map<std::string, std::unique_ptr<Upstream>> _upstreams;
    std::atomic<CatalogSnapshot> _catalog;
    std::vector<std::shared_ptr<const LoadedPlugin>> _plugins;

    // Config views outlive the stages that were handed them (declared first, destroyed last).
    std::vector<Poco::AutoPtr<Poco::Util::AbstractConfiguration>> _views;
    std::vector<std::string> _stageNames;
    std::unique_ptr<AuthStage> _auth;
    std::unique_ptr<LimitsStage> _limits;
    std::unique_ptr<RouterStage> _router;
    std::vector<std::string> _auditSinkNames;
    std::vector<std::shared_ptr<AuditSink>> _auditSinks;  // shared with their writers
    AuditWriterSettings _auditSettings;
    std::vector<std::shared_ptr<AuditWriter>> _auditWriters;  // from start() until stop()
    std::unique_ptr<DiscoverySource> _discovery;
    std::unique_ptr<DiscoveryLoop> _discoveryLoop;
    std::unique_ptr<HealthProber> _prober;
};

} // namespace sluice::kernel
