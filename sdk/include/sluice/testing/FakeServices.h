#pragma once
// KernelServices for a stage under test: backends the test adds, a catalog
// (FakeCatalog) and a health view (FakeHealth) it sets, aliases, metrics, a
// configuration it fills. No network, no threads, no kernel. Set it up
// before the stage reads it; changing it while other threads read is a race.
//
//   sluice::testing::FakeServices services;
//   services.addBackend("gpu-1", {"llama3.2:latest"});
//   services.healthView.open.insert("gpu-1");   // its circuit is open
//
// Part of the SDK's test helpers (Sluice::testing).

#include <memory>
#include <string>
#include <vector>

#include <Poco/AutoPtr.h>
#include <Poco/Logger.h>
#include <Poco/Util/MapConfiguration.h>

#include "sluice/Services.h"
#include "sluice/testing/FakeCatalog.h"
#include "sluice/testing/FakeHealth.h"

namespace sluice::testing {

class FakeServices final : public KernelServices {
public:
    FakeServices() : _config(new Poco::Util::MapConfiguration) {}

    // Adds a backend (priority = order of calls) hosting `models`, of which
    // `loaded` are in memory; the catalog follows.
    Backend& addBackend(const std::string& name, const std::vector<std::string>& models,
                        const std::vector<std::string>& loaded = {}, int weight = 1) {
        auto backend = std::make_shared<Backend>();
        backend->name = name;
        backend->priority = _backends.size();
        backend->weight = weight;
        _backends.push_back(backend);
        catalogBuilder.host(name, models, loaded);
        return *backend;
    }

    // Drops a backend's models from the catalog, as a failed discovery past its TTL does.
    void forgetModels(const std::string& name) { catalogBuilder.forget(name); }

    Poco::Logger& logger(const std::string& name) override { return Poco::Logger::get("sluice." + name); }
    MetricsRegistry& metrics() override { return _metrics; }
    const BackendList& backends() const override { return _backends; }
    std::shared_ptr<const Backend> backend(const std::string& name) const override {
        for (const auto& backend : _backends)
            if (backend->name == name) return backend;
        return nullptr;
    }
    CatalogSnapshot catalog() const override { return catalogBuilder.snapshot(); }
    const HealthView& health() const override { return healthView; }
    const Poco::Util::AbstractConfiguration& config() const override { return *_config; }
    const AliasTable& aliases() const override { return aliasTable; }

    // The whole file as config() shows it ("server.trusted_proxies", …).
    Poco::Util::MapConfiguration& mutableConfig() { return *_config; }

    FakeCatalog catalogBuilder;
    FakeHealth healthView;
    AliasTable aliasTable;

private:
    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
    MetricsRegistry _metrics;
    BackendList _backends;
};

} // namespace sluice::testing
