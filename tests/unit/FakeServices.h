#pragma once
// A KernelServices for stage tests: a fixed backend list, a catalog and a
// health view the test sets up, an empty config. No network, no threads.

#include <map>
#include <set>

#include <Poco/AutoPtr.h>
#include <Poco/Logger.h>
#include <Poco/Util/MapConfiguration.h>

#include "sluice/Services.h"

namespace sluice::test {

// Every backend is available and idle unless the test says otherwise.
class FakeHealth final : public HealthView {
public:
    bool isAvailable(const std::string& backend) const override { return !open.contains(backend); }
    int inFlight(const std::string& backend) const override {
        auto it = busy.find(backend);
        return it == busy.end() ? 0 : it->second;
    }

    CircuitState circuit(const std::string& backend) const override {
        return open.contains(backend) ? CircuitState::Open : CircuitState::Closed;
    }
    std::optional<double> firstByteMillis(const std::string& backend, const std::string& model) const override {
        auto it = firstByte.find({backend, model});
        if (it == firstByte.end()) return std::nullopt;
        return it->second;
    }

    std::set<std::string> open;      // backends whose circuit is open
    std::map<std::string, int> busy;  // requests in flight per backend
    std::map<std::pair<std::string, std::string>, double> firstByte;  // (backend, model) -> ms
};

class FakeServices final : public KernelServices {
public:
    FakeServices() : _config(new Poco::Util::MapConfiguration), _catalog(std::make_shared<const Catalog>()) {}

    // Adds a backend (priority = order of calls) hosting `models`, of which `loaded` are in memory.
    void addBackend(const std::string& name, std::vector<std::string> models, std::vector<std::string> loaded = {},
                    int weight = 1) {
        auto backend = std::make_shared<Backend>();
        backend->name = name;
        backend->priority = _backends.size();
        backend->weight = weight;
        _backends.push_back(backend);
        _order.push_back(name);
        for (auto& model : models) _models[name].models.push_back({model, {{"name", model}}});
        for (auto& model : loaded) _models[name].loaded.push_back({model, {{"name", model}}});
        _models[name].ever = true;
        _catalog = std::make_shared<const Catalog>(_order, _models);
    }

    // Drops a backend's models from the catalog, as a failed discovery past its TTL does.
    void forgetModels(const std::string& name) {
        _models.erase(name);
        _catalog = std::make_shared<const Catalog>(_order, _models);
    }

    Poco::Logger& logger(const std::string& name) override { return Poco::Logger::get("sluice." + name); }
    MetricsRegistry& metrics() override { return _metrics; }
    const BackendList& backends() const override { return _backends; }
    std::shared_ptr<const Backend> backend(const std::string& name) const override {
        for (const auto& backend : _backends)
            if (backend->name == name) return backend;
        return nullptr;
    }
    CatalogSnapshot catalog() const override { return _catalog; }
    const HealthView& health() const override { return healthView; }
    const Poco::Util::AbstractConfiguration& config() const override { return *_config; }
    const AliasTable& aliases() const override { return aliasTable; }
    Poco::Util::MapConfiguration& mutableConfig() { return *_config; }

    FakeHealth healthView;
    AliasTable aliasTable;

private:
    Poco::AutoPtr<Poco::Util::MapConfiguration> _config;
    MetricsRegistry _metrics;
    BackendList _backends;
    std::vector<std::string> _order;
    std::map<std::string, BackendModels> _models;
    CatalogSnapshot _catalog;
};

} // namespace sluice::test
