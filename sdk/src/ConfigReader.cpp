#include "sluice/ConfigReader.h"

#include <charconv>

#include <Poco/Exception.h>
#include <Poco/String.h>

namespace sluice {

ConfigReader::ConfigReader(const Poco::Util::AbstractConfiguration& config, std::string prefix)
    : _config(config), _prefix(std::move(prefix)) {}

bool ConfigReader::has(const std::string& key) const { return _config.hasProperty(key); }

std::string ConfigReader::text(const std::string& key, const std::string& fallback) const {
    try {
        return Poco::trim(_config.getString(key, fallback));
    } catch (const Poco::Exception& e) {
        // A ${key} reference that loops or nests past Poco's bound of 10
        // (found by fuzz.properties): a mistake in the file, named as one.
        throw ConfigError(fullKey(key), "cannot be read: " + e.displayText());
    }
}

std::string ConfigReader::requiredText(const std::string& key) const {
    auto value = text(key);
    if (value.empty()) throw ConfigError(fullKey(key), "is required");
    return value;
}

std::string ConfigReader::headerValue(const std::string& key, const std::string& fallback) const {
    auto value = text(key, fallback);
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            throw ConfigError(fullKey(key), "holds a control character (a line end?); it would corrupt the HTTP header it goes into");
    }
    return value;
}

std::int64_t ConfigReader::integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) const {
    const auto value = text(key);
    if (value.empty()) return fallback;
    std::int64_t parsed = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (error != std::errc() || end != value.data() + value.size())
        throw ConfigError(fullKey(key), "'" + value + "' is not a whole number");
    if (parsed < min || parsed > max)
        throw ConfigError(fullKey(key), value + " is out of range [" + std::to_string(min) + ", " +
                                            std::to_string(max) + "]");
    return parsed;
}

bool ConfigReader::flag(const std::string& key, bool fallback) const {
    const auto value = Poco::toLower(text(key));
    if (value.empty()) return fallback;
    if (value == "true" || value == "on" || value == "yes" || value == "1") return true;
    if (value == "false" || value == "off" || value == "no" || value == "0") return false;
    throw ConfigError(fullKey(key), "'" + value + "' is not a boolean (true/false)");
}

std::chrono::milliseconds ConfigReader::millis(const std::string& key, std::chrono::milliseconds fallback) const {
    return std::chrono::milliseconds(integer(key, fallback.count(), 1, 24LL * 3600 * 1000));
}

std::vector<std::string> ConfigReader::list(const std::string& key) const {
    std::vector<std::string> items;
    const auto value = text(key);
    std::size_t start = 0;
    while (start <= value.size()) {
        auto comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        auto item = Poco::trim(value.substr(start, comma - start));
        if (!item.empty()) items.push_back(item);
        start = comma + 1;
    }
    return items;
}

} // namespace sluice
