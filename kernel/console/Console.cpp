#include "Console.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <Poco/Path.h>

#include "sluice/ConfigError.h"
#include "sluice/ConfigReader.h"

namespace sluice::kernel {

namespace {

// The types the console ships; anything else in the folder is not served.
const std::map<std::string, std::string, std::less<>>& contentTypes() {
    static const std::map<std::string, std::string, std::less<>> kTypes{
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".png", "image/png"},                 {".txt", "text/plain; charset=utf-8"},
    };
    return kTypes;
}

} // namespace

ConsoleSettings readConsoleSettings(const Poco::Util::AbstractConfiguration& config, const std::string& binaryDirectory) {
    const ConfigReader read(config);
    ConsoleSettings settings;
    settings.enabled = read.flag("console.enabled", false);
    const auto configured = read.text("console.assets_path", "../share/sluice/console");
    Poco::Path path(configured);
    if (path.isRelative()) path = Poco::Path(Poco::Path::forDirectory(binaryDirectory), configured);
    settings.assetsPath = path.toString();
    settings.sessionIdle = std::chrono::seconds(read.integer("console.session_idle_s", 1800, 60, 86400));
    settings.sessionMax = std::chrono::seconds(read.integer("console.session_max_s", 28800, 60, 30 * 86400));
    if (settings.sessionIdle > settings.sessionMax)
        throw ConfigError("console.session_idle_s", "is longer than console.session_max_s");
    return settings;
}

ConsoleAssets::ConsoleAssets(const std::string& folder) {
    namespace fs = std::filesystem;
    std::error_code error;
    if (!fs::is_regular_file(fs::path(folder) / "index.html", error))
        throw ConfigError("console.assets_path", folder + " holds no console (index.html is missing; was it installed?)");
    for (fs::recursive_directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
        if (!it->is_regular_file()) continue;
        const auto type = contentTypes().find(it->path().extension().string());
        if (type == contentTypes().end()) continue;
        std::ifstream in(it->path(), std::ios::binary);
        std::ostringstream body;
        body << in.rdbuf();
        _files[fs::relative(it->path(), folder).generic_string()] = Asset{type->second, body.str()};
    }
    if (error) throw ConfigError("console.assets_path", "cannot read " + folder + ": " + error.message());
}

const ConsoleAssets::Asset* ConsoleAssets::find(std::string_view path) const {
    const auto it = _files.find(path);
    return it == _files.end() ? nullptr : &it->second;
}

} // namespace sluice::kernel
