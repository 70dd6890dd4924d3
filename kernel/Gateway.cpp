#include "Gateway.h"

#include "capacity/Capacity.h"
#include "console/Console.h"
#include "sluice/Abi.h"
#include "upstream/Forwarder.h"

namespace sluice::kernel {

Gateway::Gateway(MetricsRegistry& metrics)
    : _metrics(metrics),
      _capacity(std::make_unique<Capacity>(metrics)),
      _forwarder(std::make_unique<Forwarder>(metrics, *_capacity)),
      _generationGauge(metrics.gauge("sluice_config_generation",
                                     "Configurations loaded since start: 1 at start, one more per applied reload.")),
      _loadedAtGauge(metrics.gauge("sluice_config_loaded_timestamp_seconds",
                                   "When the configuration in use was loaded (Unix time).")) {
    metrics
        .gauge("sluice_build_info", "Always 1: the running build's version and plugin ABI.",
               {{"version", SLUICE_VERSION}, {"abi", std::to_string(SLUICE_ABI_MAJOR) + "." + std::to_string(SLUICE_ABI_MINOR)}})
        .set(1);
}

Gateway::~Gateway() = default;

void Gateway::forward(Pipeline& pipeline, RequestContext& ctx, std::string_view body, ClientChannel& client) {
    _forwarder->forward(pipeline.forwarding(), ctx, body, client);
}

std::shared_ptr<Pipeline> Gateway::install(std::shared_ptr<Pipeline> pipeline) {
    if (pipeline) shareSlots(*pipeline);  // none: the server is stopping
    auto old = _pipeline.exchange(std::move(pipeline));
    const auto now = std::chrono::system_clock::now();
    _generationGauge.set(static_cast<std::int64_t>(_generation.fetch_add(1) + 1));
    _loadedAt.store(now);
    _loadedAtGauge.set(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    return old;
}

void Gateway::shareSlots(Pipeline& pipeline) {
    // Backend slots follow redis.url: counted in Redis by every instance
    // that shares it, else here. The same URL keeps the same client.
    const auto& redis = pipeline.settings().redis;
    const auto& url = pipeline.settings().redisUrlText;
    const auto ttl = pipeline.settings().slotLeaseTtl;
    // Routers see the fleet's load on bounded backends, not this instance's alone.
    std::vector<std::string> bounded;
    for (const auto& backend : pipeline.backends())
        if (const auto* limits = pipeline.slotLimits(backend->name); limits && !limits->unbounded()) bounded.push_back(backend->name);
    _capacity->watch(bounded);
    if (redis.url && !bounded.empty())
        pipeline.backendHealth().countShared([capacity = _capacity.get()](const std::string& backend) {
            return capacity->sharedInUse(backend);
        });
    if (url == _slotsUrl && ttl == _slotsTtl) return;
    _slotsUrl = url;
    _slotsTtl = ttl;
    _capacity->shareThrough(redis.url ? std::make_shared<RedisSlots>(*redis.url, redis.timeout, ttl) : nullptr);
}

void Gateway::useConsole(std::unique_ptr<Console> console) { _console = std::move(console); }

} // namespace sluice::kernel
