#pragma once
// Loads a built plugin library the way sluiced does (the descriptor's ABI and
// build signature checked first, then its stages registered) and makes its
// stages from properties, so a plugin's tests exercise the very .so that
// sluiced will load.
//
//   sluice::testing::FakeServices services;
//   services.addBackend("gpu-1", {"llama3.2:latest"});
//   sluice::testing::PluginHarness plugin(sluice::testing::pluginUnderTest());
//   auto router = plugin.router("mine", services, {{"mine.bias", "gpu-1"}});
//
// Properties are given as they appear under the stage kind's prefix: for a
// router, "pinning.shared" stands for `router.pinning.shared`, and a bad
// value's ConfigError names the full key. The harness owns what a stage's
// setup refers to, so it must outlive the stages it made. Libraries stay
// loaded until the process exits, as in sluiced (sluice::openPlugin).
//
// Part of the SDK's test helpers (Sluice::testing).

#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include <Poco/AutoPtr.h>
#include <Poco/Util/MapConfiguration.h>

#include "sluice/Plugin.h"

namespace sluice::testing {

using Properties = std::map<std::string, std::string>;

// The library a test is about: $SLUICE_PLUGIN, which sluice_add_plugin_test()
// sets to the plugin target's file.
inline std::string pluginUnderTest() {
    const char* path = std::getenv("SLUICE_PLUGIN");
    if (path == nullptr || *path == '\0') throw std::runtime_error("SLUICE_PLUGIN names no plugin library to test");
    return path;
}

class PluginHarness {
public:
    // Throws std::runtime_error with sluiced's own message when the library
    // cannot be loaded or its descriptor is refused.
    explicit PluginHarness(const std::string& libraryPath) {
        auto opened = openPlugin(libraryPath);
        _descriptor = opened.descriptor;
        _registry = std::move(opened.stages);
    }

    const PluginDescriptor& descriptor() const { return *_descriptor; }
    const StageRegistry& registry() const { return _registry; }

    std::unique_ptr<AuthStage> auth(const std::string& name, KernelServices& services, const Properties& properties = {}) {
        return make(_registry.auth(), "auth", name, services, properties);
    }
    std::unique_ptr<LimitsStage> limits(const std::string& name, KernelServices& services,
                                        const Properties& properties = {}) {
        return make(_registry.limits(), "limits", name, services, properties);
    }
    std::unique_ptr<RouterStage> router(const std::string& name, KernelServices& services,
                                        const Properties& properties = {}) {
        return make(_registry.routers(), "router", name, services, properties);
    }
    std::unique_ptr<AuditSink> auditSink(const std::string& name, KernelServices& services,
                                         const Properties& properties = {}) {
        return make(_registry.auditSinks(), "audit", name, services, properties);
    }
    std::unique_ptr<DiscoverySource> discovery(const std::string& name, KernelServices& services,
                                               const Properties& properties = {}) {
        return make(_registry.discovery(), "discovery", name, services, properties);
    }

private:
    template <class Stage>
    std::unique_ptr<Stage> make(const std::map<std::string, StageFactory<Stage>>& factories, const std::string& kind,
                                const std::string& name, KernelServices& services, const Properties& properties) {
        auto factory = factories.find(name);
        if (factory == factories.end())
            throw std::runtime_error("the plugin registers no " + kind + " stage named '" + name + "'");
        auto& config = _configs.emplace_back(new Poco::Util::MapConfiguration);
        for (const auto& [key, value] : properties) config->setString(key, value);
        const StageSetup setup{name, *config, ConfigReader(*config, kind + "."), services};
        return factory->second(setup);
    }

    const PluginDescriptor* _descriptor = nullptr;
    StageRegistry _registry;
    std::deque<Poco::AutoPtr<Poco::Util::MapConfiguration>> _configs;
};

} // namespace sluice::testing
