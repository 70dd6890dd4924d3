#pragma once
// What the kernel offers a stage: logging, metrics, the backends, the model
// catalog, backend health, the aliases, and read access to the whole configuration.
// Ownership: the kernel owns the services and keeps them alive longer than
// any stage. Thread: every method may be called from any thread.

#include <string>

#include <Poco/Logger.h>
#include <Poco/Util/AbstractConfiguration.h>

#include "sluice/Abi.h"
#include "sluice/Aliases.h"
#include "sluice/Backend.h"
#include "sluice/Catalog.h"
#include "sluice/Health.h"
#include "sluice/Metrics.h"

namespace sluice {

class SLUICE_API KernelServices {
public:
    virtual ~KernelServices();

    // A logger named "sluice.<name>"; level and format come from config.
    virtual Poco::Logger& logger(const std::string& name) = 0;
    virtual MetricsRegistry& metrics() = 0;
    // Backends of the pipeline this stage belongs to, in priority order.
    virtual const BackendList& backends() const = 0;
    // Backend by name, or nullptr.
    virtual std::shared_ptr<const Backend> backend(const std::string& name) const = 0;
    // The latest catalog snapshot; never null (empty before the first poll).
    virtual CatalogSnapshot catalog() const = 0;
    virtual const HealthView& health() const = 0;
    // The whole configuration, read-only, for keys shared between stages.
    virtual const Poco::Util::AbstractConfiguration& config() const = 0;
    // The aliases of this pipeline (`aliases.*`), fixed for its life.
    virtual const AliasTable& aliases() const = 0;
};

} // namespace sluice
