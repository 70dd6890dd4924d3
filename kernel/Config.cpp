#include "Config.h"

#include <cstdlib>
#include <fstream>
#include <functional>

#include <Poco/File.h>
#include <Poco/Path.h>
#include <Poco/Util/MapConfiguration.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include "sluice/ConfigError.h"
#include "sluice/ConfigReader.h"

namespace sluice::kernel {

namespace {
constexpr int kMaxIncludeDepth = 8;

// Sluice's deepest key has five parts (backends.NAME.timeout.first_byte_ms);
// the walk recurses once per part, so a key of thousands of dots would
// overflow the stack (found by fuzz.properties).
constexpr int kMaxKeyParts = 32;

void collectKeys(const Poco::Util::AbstractConfiguration& config, const std::string& prefix,
                 const std::function<void(const std::string&)>& visit, int depth = 0) {
    if (depth > kMaxKeyParts) throw ConfigError(prefix.substr(0, 80), "has more than 32 dot-separated parts");
    Poco::Util::AbstractConfiguration::Keys keys;
    config.keys(prefix, keys);
    for (const auto& key : keys) {
        const auto full = prefix.empty() ? key : prefix + "." + key;
        if (config.hasProperty(full)) visit(full);
        collectKeys(config, full, visit, depth + 1);
    }
}

void loadInto(Poco::Util::MapConfiguration& target, const std::string& path, int depth) {
    if (depth > kMaxIncludeDepth) throw ConfigError("include", "nested more than 8 deep (a cycle?) at " + path);
    if (!Poco::File(path).exists()) throw ConfigError("include", "file not found: " + path);
    // A folder opens as a stream that never ends: Poco's reader would wait on it forever (found by fuzz.properties).
    if (!Poco::File(path).isFile()) throw ConfigError("include", "not a regular file: " + path);
    std::ifstream probe(path);
    if (!probe) throw ConfigError("include", "cannot read " + path);
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> file(new Poco::Util::PropertyFileConfiguration(path));

    for (const auto& included : ConfigReader(*file).list("include")) {
        Poco::Path includePath(included);
        if (includePath.isRelative()) includePath = Poco::Path(Poco::Path(path).parent(), included);
        loadInto(target, includePath.toString(), depth + 1);
    }
    // Raw values: Poco's own ${key} references are resolved later, on read.
    collectKeys(*file, "", [&](const std::string& key) {
        if (key == "include") return;
        target.setString(key, expandEnvironment(key, file->getRawString(key)));
    });
}
} // namespace

std::string expandEnvironment(const std::string& key, const std::string& value) {
    static const std::string kOpen = "${env.";
    std::string out;
    std::size_t pos = 0;
    while (true) {
        const auto start = value.find(kOpen, pos);
        if (start == std::string::npos) break;
        const auto end = value.find('}', start);
        if (end == std::string::npos) throw ConfigError(key, "unterminated ${env. reference");
        const auto name = value.substr(start + kOpen.size(), end - start - kOpen.size());
        const char* env = std::getenv(name.c_str());
        if (name.empty() || env == nullptr) throw ConfigError(key, "environment variable '" + name + "' is not set");
        out.append(value, pos, start - pos).append(env);
        pos = end + 1;
    }
    out.append(value, pos, std::string::npos);
    return out;
}

std::vector<std::string> configKeys(const Poco::Util::AbstractConfiguration& config) {
    std::vector<std::string> keys;
    collectKeys(config, "", [&](const std::string& key) { keys.push_back(key); });
    return keys;
}

Poco::AutoPtr<Poco::Util::AbstractConfiguration> loadConfig(const std::string& path) {
    Poco::AutoPtr<Poco::Util::MapConfiguration> config(new Poco::Util::MapConfiguration);
    loadInto(*config, path, 0);
    // Relative paths in values (a SQLite store, a spill folder) resolve against
    // the main file's folder, so sluiced and sluicectl agree from any directory.
    config->setString("config.dir", Poco::Path(path).absolute().parent().toString());
    return config;
}

} // namespace sluice::kernel
