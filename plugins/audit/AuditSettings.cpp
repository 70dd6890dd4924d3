#include "AuditSettings.h"

#include <filesystem>
#include <stdexcept>

#include "sluice/ConfigError.h"
#include "sluice/ConfigReader.h"

namespace sluice::audit {

namespace {

store::StoreUrl parseUrl(const Poco::Util::AbstractConfiguration& config, const std::string& key) {
    try {
        return store::StoreUrl::parse(config.getString(key), config.getString("config.dir", ""));
    } catch (const std::invalid_argument& e) {
        std::string message = e.what();
        const auto colon = message.find(": ");
        throw ConfigError(key, colon == std::string::npos ? message : message.substr(colon + 2));
    }
}

int days(const ConfigReader& reader, const std::string& key, int fallback) {
    return static_cast<int>(reader.integer(key, fallback, 1, 36500));
}

std::string underConfigDir(const Poco::Util::AbstractConfiguration& config, const std::string& path) {
    std::filesystem::path p(path);
    if (p.is_relative()) p = std::filesystem::path(config.getString("config.dir", ".")) / p;
    return p.lexically_normal().string();
}

} // namespace

DatabaseSinkSettings readDatabaseSinkSettings(const Poco::Util::AbstractConfiguration& config, store::Engine engine) {
    const ConfigReader reader(config);
    const std::string own = engine == store::Engine::SQLite ? "audit.sqlite.url" : "audit.postgresql.url";
    DatabaseSinkSettings settings;
    if (config.has(own)) {
        settings.url = parseUrl(config, own);
        if (settings.url.engine != engine)
            throw ConfigError(own, engine == store::Engine::SQLite ? "must be a sqlite: URL" : "must be a postgresql:// URL");
    } else {
        const bool storeMatches = config.has("store.url") ? parseUrl(config, "store.url").engine == engine
                                                          : engine == store::Engine::SQLite;
        if (!storeMatches)
            throw ConfigError(own, std::string("is needed: store.url is not a ") +
                                       (engine == store::Engine::SQLite ? "sqlite:" : "postgresql://") + " URL");
        settings.url = store::StoreUrl::parse(reader.text("store.url", "sqlite:var/sluice.db"), config.getString("config.dir", ""));
    }
    settings.retention.auditDays = days(reader, "audit.retention_days", 365);
    settings.retention.promptDays = days(reader, "audit.prompt_retention_days", 30);
    settings.retention.batch = static_cast<std::size_t>(reader.integer("audit.purge_batch", 1000, 1, 1000000));
    return settings;
}

JsonlSinkSettings readJsonlSinkSettings(const Poco::Util::AbstractConfiguration& config) {
    const ConfigReader reader(config);
    JsonlSinkSettings settings;
    settings.path = underConfigDir(config, reader.requiredText("audit.jsonl.path"));
    settings.promptsPath = reader.has("audit.jsonl.prompts_path")
                               ? underConfigDir(config, reader.requiredText("audit.jsonl.prompts_path"))
                               : settings.path + ".prompts";
    if (settings.promptsPath == settings.path) throw ConfigError("audit.jsonl.prompts_path", "must differ from audit.jsonl.path");
    settings.maxBytes = static_cast<std::uint64_t>(reader.integer("audit.jsonl.max_bytes", 104857600, 4096, INT64_MAX));
    settings.keep = static_cast<int>(reader.integer("audit.jsonl.keep", 10, 1, 1000));
    settings.retentionDays = days(reader, "audit.retention_days", 365);
    settings.promptRetentionDays = days(reader, "audit.prompt_retention_days", 30);
    return settings;
}

store::StoreUrl auditReadUrl(const Poco::Util::AbstractConfiguration& config) {
    if (config.has("audit.postgresql.url")) return parseUrl(config, "audit.postgresql.url");
    if (config.has("audit.sqlite.url")) return parseUrl(config, "audit.sqlite.url");
    if (config.has("store.url")) return parseUrl(config, "store.url");
    return store::StoreUrl::parse("sqlite:var/sluice.db", config.getString("config.dir", ""));
}

} // namespace sluice::audit
