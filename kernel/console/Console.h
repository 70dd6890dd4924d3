#pragma once
// The operator console as sluiced runs it (docs/console.md): its settings,
// its pages held in memory, and the store behind its API. Built once at
// start (console.* take effect at the next restart) and never changed while
// requests are served.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <Poco/Util/AbstractConfiguration.h>

#include "ConsoleService.h"

namespace sluice::kernel {

struct ConsoleSettings {
    bool enabled = false;
    std::string assetsPath;                   // resolved: absolute
    std::chrono::seconds sessionIdle{1800};   // a session unused this long ends
    std::chrono::seconds sessionMax{28800};   // and none outlives this
};

// Reads console.*; a relative assets_path is taken from the binary's folder,
// as plugins.path is. Throws ConfigError naming the key.
ConsoleSettings readConsoleSettings(const Poco::Util::AbstractConfiguration& config, const std::string& binaryDirectory);

// The console's files, read once: a request can name only a file that was
// in the folder at start, never a path on disk.
class ConsoleAssets {
public:
    struct Asset {
        std::string contentType;
        std::string body;
    };
    // Every file under `folder` with a known type. Throws ConfigError
    // (console.assets_path) when the folder or its index.html is missing.
    explicit ConsoleAssets(const std::string& folder);
    // `path` relative to /console/ ("index.html", "vendor/uPlot.iife.min.js").
    const Asset* find(std::string_view path) const;

private:
    std::map<std::string, Asset, std::less<>> _files;
};

struct Console {
    ConsoleSettings settings;
    ConsoleAssets assets;
    std::unique_ptr<ConsoleService> service;
};

} // namespace sluice::kernel
