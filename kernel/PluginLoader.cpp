#include "PluginLoader.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

namespace sluice::kernel {

namespace {
// Every plugin loaded, once, shared by every pipeline built since (the
// libraries themselves stay loaded: sluice::openPlugin). Leaked on purpose,
// like them.
struct LoadedLibraries {
    std::mutex mutex;
    std::map<std::string, std::shared_ptr<const LoadedPlugin>> plugins;
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
    OpenedPlugin opened;
    try {
        opened = openPlugin(file.string());
    } catch (const std::runtime_error& e) {
        throw ConfigError(key, e.what());
    }
    auto plugin = std::make_shared<LoadedPlugin>();
    plugin->file = canonical;
    plugin->name = opened.descriptor->name ? opened.descriptor->name : file.stem().string();
    plugin->version = opened.descriptor->version ? opened.descriptor->version : "";
    plugin->stages = std::move(opened.stages);
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
