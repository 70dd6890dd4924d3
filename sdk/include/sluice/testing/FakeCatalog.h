#pragma once
// Builds catalog snapshots the way discovery would publish them: which
// backend hosts which models and which of them are loaded, in priority order.
// Part of the SDK's test helpers (Sluice::testing).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sluice/Catalog.h"

namespace sluice::testing {

class FakeCatalog {
public:
    // Adds (or replaces) a backend's models; the first backend added has the
    // highest priority. Entries carry Ollama's {"name": …} shape.
    void host(const std::string& backend, const std::vector<std::string>& models,
              const std::vector<std::string>& loaded = {}) {
        if (!_byBackend.contains(backend) && !isOrdered(backend)) _order.push_back(backend);
        auto& entry = _byBackend[backend];
        entry = BackendModels{};
        for (const auto& model : models) entry.models.push_back({model, {{"name", model}}});
        for (const auto& model : loaded) entry.loaded.push_back({model, {{"name", model}}});
        entry.ever = true;
    }

    // Drops a backend's models, as a discovery failure past its TTL does.
    // The backend keeps its place in the order.
    void forget(const std::string& backend) {
        if (!isOrdered(backend)) _order.push_back(backend);
        _byBackend.erase(backend);
    }

    // An immutable snapshot of what was added so far, as KernelServices::catalog() returns.
    CatalogSnapshot snapshot() const { return std::make_shared<const Catalog>(_order, _byBackend); }

private:
    bool isOrdered(const std::string& backend) const {
        for (const auto& name : _order)
            if (name == backend) return true;
        return false;
    }

    std::vector<std::string> _order;
    std::map<std::string, BackendModels> _byBackend;
};

} // namespace sluice::testing
