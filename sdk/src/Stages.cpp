// Out-of-line destructors anchor each interface's vtable and type info in
// libsluice-sdk, so dynamic_cast and exceptions work across plugin libraries.
#include "sluice/ConfigError.h"
#include "sluice/Health.h"
#include "sluice/Plugin.h"
#include "sluice/Services.h"
#include "sluice/Stages.h"

namespace sluice {

AuthStage::~AuthStage() = default;
bool AuthStage::mayBlock(const RequestContext&) const { return true; }
LimitsStage::~LimitsStage() = default;
bool LimitsStage::mayBlock(const RequestContext&) const { return true; }
RouterStage::~RouterStage() = default;
AuditSink::~AuditSink() = default;
void AuditSink::maintain(std::chrono::system_clock::time_point) {}
DiscoverySource::~DiscoverySource() = default;
HealthView::~HealthView() = default;
KernelServices::~KernelServices() = default;

ConfigError::ConfigError(std::string key, const std::string& problem)
    : std::runtime_error(key + ": " + problem), _key(std::move(key)) {}

namespace {
template <class Stage>
void add(std::map<std::string, StageFactory<Stage>>& factories, const std::string& name,
         StageFactory<Stage> factory) {
    if (!factories.emplace(name, std::move(factory)).second)
        throw std::logic_error("stage registered twice: " + name);
}
} // namespace

void StageRegistry::addAuth(const std::string& name, StageFactory<AuthStage> f) { add(_auth, name, std::move(f)); }
void StageRegistry::addLimits(const std::string& name, StageFactory<LimitsStage> f) { add(_limits, name, std::move(f)); }
void StageRegistry::addRouter(const std::string& name, StageFactory<RouterStage> f) { add(_routers, name, std::move(f)); }
void StageRegistry::addAuditSink(const std::string& name, StageFactory<AuditSink> f) {
    add(_auditSinks, name, std::move(f));
}
void StageRegistry::addDiscovery(const std::string& name, StageFactory<DiscoverySource> f) {
    add(_discovery, name, std::move(f));
}
void StageRegistry::declareKeys(const std::vector<std::string>& patterns) {
    for (const auto& pattern : patterns) {
        if (pattern.empty() || pattern.front() == '.' || pattern.back() == '.' || pattern.find("..") != std::string::npos)
            throw std::logic_error("not a configuration key: '" + pattern + "'");
        _declaredKeys.push_back(pattern);
    }
}

} // namespace sluice
