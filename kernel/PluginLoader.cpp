#include "PluginLoader.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include <boost/dll/shared_library.hpp>

namespace sluice::kernel {

namespace {
// Every library loaded, once, shared by every pipeline built since. It is
// never destroyed, on purpose: static destructors run at exit in an order we
// do not control, and unloading a library before the factories and stages it
// made are gone would run freed code.
struct LoadedLibraries {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const LoadedPlugin>> plugins;
    std::vector<std::unique_ptr<boost::dll::shared_library>> libraries;
};

LoadedLibraries& loadedLibraries() {
    static auto* libraries = new LoadedLibraries;  // deliberately leaked, see above
    return *libraries;
}

std::shared_ptr<const LoadedPlugin> loadOne(const std::filesystem::path& file, const std::string& key) {
    const auto canonical = std::filesystem::weakly_canonical(file).string();
    auto& loaded = loadedLibraries();
    std::lock_guard lock(loaded.mutex);
    if (auto it = loaded.plugins.find(canonical); it != loaded.plugins.end()) return it->second;

    if (!std::filesystem::exists(file)) throw ConfigError(key, "plugin library not found: " + file.string());
    auto library = std::make_unique<boost::dll::shared_library>();
    boost::dll::fs::error_code error;
    library->load(boost::dll::fs::path(canonical), boost::dll::load_mode::rtld_now, error);
    if (error) throw ConfigError(key, "cannot load plugin library " + file.string() + ": " + error.message());
    if (!library->has("sluice_plugin_entry"))
        throw ConfigError(key, file.string() + " is not a Sluice plugin (no sluice_plugin_entry)");

    const auto& entry = library->get_alias<PluginEntry>("sluice_plugin_entry");
    const PluginDescriptor* descriptor = entry();
    if (auto problem = checkPluginDescriptor(descriptor); !problem.empty())
        throw ConfigError(key, file.string() + ": " + problem);

    auto plugin = std::make_shared<LoadedPlugin>();
    plugin->file = canonical;
    plugin->name = descriptor->name ? descriptor->name : file.stem().string();
    plugin->version = descriptor->version ? descriptor->version : "";
    try {
        descriptor->registerStages(plugin->stages);
    } catch (const std::exception& e) {
        throw ConfigError(key, file.string() + ": registering its stages failed: " + e.what());
    } catch (...) {
        throw ConfigError(key, file.string() + ": registering its stages failed");
    }
    loaded.libraries.push_back(std::move(library));
    loaded.plugins.emplace(canonical, plugin);
    return plugin;
}
} // namespace

std::vector<std::shared_ptr<const LoadedPlugin>> PluginLoader::load(const std::string& directory,
                                                                    const std::vector<std::string>& names,
                                                                    const std::string& key) {
    std::vector<std::filesystem::path> files;
    if (names.empty()) {
        std::error_code error;
        for (const auto& item : std::filesystem::directory_iterator(directory, error))
            if (item.path().extension() == ".so") files.push_back(item.path());
        if (error) throw ConfigError("plugins.path", "cannot read directory " + directory + ": " + error.message());
        std::sort(files.begin(), files.end());
    } else {
        for (const auto& name : names)
            files.push_back(name.find('/') != std::string::npos ? std::filesystem::path(name)
                                                                  : std::filesystem::path(directory) / (name + ".so"));
    }
    std::vector<std::shared_ptr<const LoadedPlugin>> plugins;
    for (const auto& file : files) plugins.push_back(loadOne(file, key));
    return plugins;
}

} // namespace sluice::kernel
