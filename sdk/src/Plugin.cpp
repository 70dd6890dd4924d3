#include "sluice/Plugin.h"

#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <boost/dll/shared_library.hpp>

namespace sluice {

namespace {
// Every library opened, kept for the life of the process. Never destroyed,
// on purpose: static destructors run at exit in an order we do not control,
// and unloading a library before what it made is gone would run freed code.
void keepLoaded(std::unique_ptr<boost::dll::shared_library> library) {
    static auto* mutex = new std::mutex;
    static auto* libraries = new std::vector<std::unique_ptr<boost::dll::shared_library>>;
    std::lock_guard lock(*mutex);
    libraries->push_back(std::move(library));
}
} // namespace

OpenedPlugin openPlugin(const std::string& file) {
    auto library = std::make_unique<boost::dll::shared_library>();
    boost::dll::fs::error_code error;
    library->load(boost::dll::fs::path(std::filesystem::weakly_canonical(file).string()),
                  boost::dll::load_mode::rtld_now, error);
    if (error) throw std::runtime_error("cannot load plugin library " + file + ": " + error.message());
    if (!library->has("sluice_plugin_entry"))
        throw std::runtime_error(file + " is not a Sluice plugin (no sluice_plugin_entry)");
    OpenedPlugin opened;
    opened.descriptor = library->get_alias<PluginEntry>("sluice_plugin_entry")();
    // A refused library is unloaded (nothing of it escapes but this message),
    // so a rebuilt file at the same path loads afresh on the next reload.
    if (auto problem = checkPluginDescriptor(opened.descriptor); !problem.empty())
        throw std::runtime_error(file + ": " + problem);
    keepLoaded(std::move(library));  // from here on its code is referred to, even by what registration throws
    try {
        opened.descriptor->registerStages(opened.stages);
    } catch (const std::exception& e) {
        throw std::runtime_error(file + ": registering its stages failed: " + e.what());
    } catch (...) {
        throw std::runtime_error(file + ": registering its stages failed");
    }
    return opened;
}

std::string checkPluginDescriptor(const PluginDescriptor* descriptor) {
    if (descriptor == nullptr) return "its entry returned no descriptor";
    const auto kernelAbi = std::to_string(SLUICE_ABI_MAJOR) + "." + std::to_string(SLUICE_ABI_MINOR);
    const auto pluginAbi = std::to_string(descriptor->abiMajor) + "." + std::to_string(descriptor->abiMinor);
    // A newer minor adds what this kernel would not know to serve.
    if (descriptor->abiMajor != SLUICE_ABI_MAJOR || descriptor->abiMinor > SLUICE_ABI_MINOR)
        return "plugin ABI " + pluginAbi + " does not match kernel ABI " + kernelAbi + "; rebuild the plugin against this SDK";
    if (descriptor->structSize < sizeof(PluginDescriptor))
        return "plugin descriptor is too small (" + std::to_string(descriptor->structSize) + " bytes)";
    if (descriptor->buildSignature == nullptr || std::string(descriptor->buildSignature) != SLUICE_BUILD_SIGNATURE)
        return std::string("plugin was built with '") + (descriptor->buildSignature ? descriptor->buildSignature : "?") +
               "', the kernel with '" + SLUICE_BUILD_SIGNATURE + "'; rebuild the plugin with the same toolchain";
    if (descriptor->registerStages == nullptr) return "plugin descriptor has no registration function";
    return {};
}

} // namespace sluice
