#include "sluice/Plugin.h"

namespace sluice {

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
