#pragma once
// Reads and validates values from a configuration subtree, throwing
// ConfigError with the full key name on anything wrong. Used by the kernel
// and by plugin factories alike, so every bad value reads the same way.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <Poco/Util/AbstractConfiguration.h>

#include "sluice/Abi.h"
#include "sluice/ConfigError.h"

namespace sluice {

class SLUICE_API ConfigReader {
public:
    // `prefix` is the subtree's place in the whole file ("router."), for messages.
    ConfigReader(const Poco::Util::AbstractConfiguration& config, std::string prefix = {});

    bool has(const std::string& key) const;
    std::string text(const std::string& key, const std::string& fallback = {}) const;
    std::string requiredText(const std::string& key) const;
    // text() for a value that goes into an HTTP header (a token, a scheme):
    // a control character in it (CR, LF, NUL, from an escape or a pasted
    // secret) would split the header and inject others, so it is refused.
    std::string headerValue(const std::string& key, const std::string& fallback = {}) const;
    std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
    bool flag(const std::string& key, bool fallback) const;
    std::chrono::milliseconds millis(const std::string& key, std::chrono::milliseconds fallback) const;
    // A comma-separated list, trimmed, empty items dropped.
    std::vector<std::string> list(const std::string& key) const;

    std::string fullKey(const std::string& key) const { return _prefix + key; }

private:
    const Poco::Util::AbstractConfiguration& _config;
    std::string _prefix;
};

} // namespace sluice
