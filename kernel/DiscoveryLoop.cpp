#include "DiscoveryLoop.h"

#include <future>

#include "Pipeline.h"

namespace sluice::kernel {

DiscoveryLoop::DiscoveryLoop(Pipeline& pipeline) : _pipeline(pipeline) {}

DiscoveryLoop::~DiscoveryLoop() { stop(); }

void DiscoveryLoop::pollOnce() {
    const auto& settings = _pipeline.settings();
    auto& log = _pipeline.logger("discovery");
    std::vector<std::pair<std::shared_ptr<const Backend>, std::future<DiscoveryResult>>> polls;
    for (const auto& backend : _pipeline.backends()) {
        polls.emplace_back(backend, std::async(std::launch::async, [this, backend, &settings] {
                               try {
                                   return _pipeline.discovery().poll(*backend, settings.discoveryTimeout);
                               } catch (const std::exception& e) {
                                   return DiscoveryResult{false, e.what(), {}, {}};
                               } catch (...) {
                                   return DiscoveryResult{false, "the discovery stage threw a non-exception", {}, {}};
                               }
                           }));
    }
    const auto now = std::chrono::system_clock::now();
    std::vector<std::string> order;
    for (auto& [backend, future] : polls) {
        order.push_back(backend->name);
        auto result = future.get();
        auto& last = _last[backend->name];
        if (result.ok) {
            if (!last.ever) log.information("backend %s: %z models", backend->name, result.models.size());
            last.models = std::move(result.models);
            last.loaded = std::move(result.loaded);
            last.polledAt = now;
            last.ever = true;
        } else {
            log.warning("backend %s: model poll failed: %s", backend->name, result.error);
            if (last.ever && now - last.polledAt > settings.discoveryTtl) last = BackendModels{};
        }
    }
    _pipeline.publishCatalog(std::make_shared<const Catalog>(std::move(order), _last));
}

void DiscoveryLoop::startBackground() {
    _task.start(_pipeline.settings().discoveryInterval, [this] { pollOnce(); });
}

void DiscoveryLoop::stop() { _task.stop(); }

} // namespace sluice::kernel
