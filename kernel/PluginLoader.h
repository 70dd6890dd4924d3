#pragma once
// Loads plugin libraries with Boost.DLL and checks each one's descriptor
// (ABI major/minor, build signature: sluice::checkPluginDescriptor) before
// calling into it. Libraries are kept loaded for the life of the process:
// stages made from them may live in a pipeline at any time, and unloading
// code under a live object crashes.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sluice/Plugin.h"

namespace sluice::kernel {

struct LoadedPlugin {
    std::string file;
    std::string name;
    std::string version;
    StageRegistry stages;
};

class PluginLoader {
public:
    // Loads every library named in `names` ("router" -> DIR/router.so; a name
    // with a '/' is a path) or, when `names` is empty, every *.so in `directory`.
    // Throws ConfigError naming `key` and the file on any problem.
    std::vector<std::shared_ptr<const LoadedPlugin>> load(const std::string& directory,
                                                          const std::vector<std::string>& names,
                                                          const std::string& key);
};

} // namespace sluice::kernel
