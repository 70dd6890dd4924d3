// A plugin that claims a future ABI major: the kernel must refuse it, naming
// both versions, before calling anything in it.
#include "sluice/Plugin.h"

namespace {
void registerStages(sluice::StageRegistry&) { throw std::logic_error("must never be called"); }

const sluice::PluginDescriptor* entry() {
    static const sluice::PluginDescriptor descriptor{sizeof(sluice::PluginDescriptor), SLUICE_ABI_MAJOR + 1, 0,
                                                     SLUICE_BUILD_SIGNATURE, "wrong-abi", "0.0.1", &registerStages};
    return &descriptor;
}
} // namespace

BOOST_DLL_ALIAS(entry, sluice_plugin_entry)
