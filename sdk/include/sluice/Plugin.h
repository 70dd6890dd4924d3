#pragma once
// How a shared library offers stages to the kernel. A library exports one
// C-linkage entry, `sluice_plugin_entry`, returning a descriptor. The kernel
// checks the descriptor's ABI version and build signature before it calls
// anything else, then lets the library register its stage factories.
//
//   static void registerStages(sluice::StageRegistry& registry) {
//       registry.addRouter("priority", [](const sluice::StageSetup& setup) {
//           return std::make_unique<PriorityRouter>(setup);
//       });
//       registry.declareKeys({"router.explore_ratio", "router.seed"});
//   }
//   SLUICE_PLUGIN("router", "1.0.0", registerStages)

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/dll/alias.hpp>

#include "sluice/Abi.h"
#include "sluice/ConfigReader.h"
#include "sluice/Services.h"
#include "sluice/Stages.h"

namespace sluice {

// Why a stage is being built.
enum class BuildPurpose {
    Serve,  // sluiced starting or reloading: the stage will handle requests
    // `sluiced --check`, `sluicectl check-config`, `sluicectl models`: the
    // stage is built to validate the configuration (a discovery source also
    // polls once), then destroyed; it never handles a request. It reads and
    // validates every key as for Serve, but creates, migrates and writes
    // nothing: stores are opened read-only or not at all, no file or folder
    // is made (sluice/WritablePath.h says whether one could be), no
    // background work starts.
    Check,
};

// What a factory gets: its stage name, its config subtree ("auth.", "limits.",
// "router.", "audit.", "discovery." stripped), the kernel's services, and why
// it is built. Ownership: the references are valid for the life of the stage it makes.
struct StageSetup {
    std::string name;
    const Poco::Util::AbstractConfiguration& config;
    ConfigReader reader;  // reads `config` with full key names in errors
    KernelServices& services;
    BuildPurpose purpose = BuildPurpose::Serve;
};

template <class Stage>
using StageFactory = std::function<std::unique_ptr<Stage>(const StageSetup&)>;

// Filled by a library's registration function. Factories validate their
// config and throw ConfigError on bad values: that stops start-up or reload,
// never a request.
class SLUICE_API StageRegistry {
public:
    void addAuth(const std::string& name, StageFactory<AuthStage> factory);
    void addLimits(const std::string& name, StageFactory<LimitsStage> factory);
    void addRouter(const std::string& name, StageFactory<RouterStage> factory);
    void addAuditSink(const std::string& name, StageFactory<AuditSink> factory);
    void addDiscovery(const std::string& name, StageFactory<DiscoverySource> factory);

    // The configuration keys this library's stages read, as full names, with
    // `*` for one part the operator names (`router.cost.*`, a backend). The
    // kernel refuses a key that no loaded library and not the kernel itself
    // declares, in a section someone declares keys for: a typo stops start-up
    // naming the nearest known key, rather than passing as "configuration OK".
    // Declare every key, read or not by the stage the file picks: a file may
    // keep settings for a stage it does not use at the moment.
    void declareKeys(const std::vector<std::string>& patterns);

    const std::map<std::string, StageFactory<AuthStage>>& auth() const { return _auth; }
    const std::map<std::string, StageFactory<LimitsStage>>& limits() const { return _limits; }
    const std::map<std::string, StageFactory<RouterStage>>& routers() const { return _routers; }
    const std::map<std::string, StageFactory<AuditSink>>& auditSinks() const { return _auditSinks; }
    const std::map<std::string, StageFactory<DiscoverySource>>& discovery() const { return _discovery; }
    const std::vector<std::string>& declaredKeys() const { return _declaredKeys; }

private:
    std::map<std::string, StageFactory<AuthStage>> _auth;
    std::map<std::string, StageFactory<LimitsStage>> _limits;
    std::map<std::string, StageFactory<RouterStage>> _routers;
    std::map<std::string, StageFactory<AuditSink>> _auditSinks;
    std::map<std::string, StageFactory<DiscoverySource>> _discovery;
    std::vector<std::string> _declaredKeys;
};

// The layout of the first four fields is frozen forever, so any kernel can
// read any plugin's versions and refuse it with a clear message.
struct PluginDescriptor {
    std::uint32_t structSize;  // sizeof(PluginDescriptor) as the plugin was built
    std::uint32_t abiMajor;
    std::uint32_t abiMinor;
    const char* buildSignature;  // SLUICE_BUILD_SIGNATURE at the plugin's build
    const char* name;
    const char* version;
    void (*registerStages)(StageRegistry& registry);
};

using PluginEntry = const PluginDescriptor*();

// Whether this SDK's kernel can use a plugin with `descriptor`: "" when it
// can, else the reason, as sluiced prints it ("plugin ABI 1.0 does not match
// kernel ABI 3.0; rebuild the plugin against this SDK"). The same check
// serves sluiced and the test harness (sluice/testing/PluginHarness.h).
SLUICE_API std::string checkPluginDescriptor(const PluginDescriptor* descriptor);

// A plugin library opened as sluiced opens it: loaded (RTLD_NOW), its entry
// found, its descriptor checked, its stages registered. Throws
// std::runtime_error with sluiced's message ("cannot load plugin library
// FILE: …", "FILE is not a Sluice plugin (no sluice_plugin_entry)",
// "FILE: plugin ABI …", "FILE: registering its stages failed: …"). A
// library whose descriptor passes is never unloaded, whatever happens next:
// stages, factories and even an exception thrown by its registration are its code.
// Used by sluiced's loader and by the test harness (sluice/testing/PluginHarness.h).
struct OpenedPlugin {
    const PluginDescriptor* descriptor = nullptr;
    StageRegistry stages;
};
SLUICE_API OpenedPlugin openPlugin(const std::string& file);

} // namespace sluice

// Exports the library's entry. Use once per plugin library, at namespace scope.
#define SLUICE_PLUGIN(pluginName, pluginVersion, registerFunction)                                        \
    namespace sluice_plugin_detail {                                                                      \
    static const ::sluice::PluginDescriptor* entry() {                                                    \
        static const ::sluice::PluginDescriptor descriptor{                                               \
            sizeof(::sluice::PluginDescriptor), SLUICE_ABI_MAJOR,    SLUICE_ABI_MINOR, SLUICE_BUILD_SIGNATURE, \
            pluginName,                         pluginVersion,       &(registerFunction)};                \
        return &descriptor;                                                                               \
    }                                                                                                     \
    }                                                                                                     \
    BOOST_DLL_ALIAS(sluice_plugin_detail::entry, sluice_plugin_entry)
