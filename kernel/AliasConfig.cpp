#include "AliasConfig.h"

#include <set>

#include <Poco/String.h>

#include "sluice/ConfigReader.h"

namespace sluice::kernel {

namespace {
// Alias names are model names clients send: printable, no spaces. Not '.'
// (it would split the property key) nor ':' (a properties file ends a key there).
bool validAliasName(const std::string& name) {
    if (name.empty() || name.size() > 128) return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '/' || c == '@'))
            return false;
    return true;
}

// "backend/model" when the part before the first '/' names a configured
// backend; otherwise the whole entry is a model ("meta-llama/llama-3-8b")
// that any backend hosting it may serve.
AliasTarget parseTarget(const std::string& entry, const std::set<std::string>& backendNames) {
    if (const auto slash = entry.find('/'); slash != std::string::npos && backendNames.contains(entry.substr(0, slash)))
        return {entry.substr(0, slash), entry.substr(slash + 1)};
    return {{}, entry};
}
RetryOverride parseRetryOverride(const ConfigReader& reader, const std::string& prefix) {
    RetryOverride retry;
    if (reader.has(prefix + "attempts")) retry.attempts = static_cast<int>(reader.integer(prefix + "attempts", 1, 0, 10));
    if (reader.has(prefix + "backoff_ms")) retry.backoff = reader.millis(prefix + "backoff_ms", {});
    if (reader.has(prefix + "max_wait_ms")) retry.maxWait = reader.millis(prefix + "max_wait_ms", {});
    return retry;
}

// aliases.NAME.fallback_on: the 4xx classes that move on to the next entry.
unsigned parseFallbackOn(const ConfigReader& reader, const std::string& key) {
    unsigned kinds = 0;
    for (const auto& name : reader.list(key)) {
        const auto kind = Poco::toLower(name);
        if (kind == "context_length") kinds |= static_cast<unsigned>(FallbackOn::ContextLength);
        else if (kind == "content_filter") kinds |= static_cast<unsigned>(FallbackOn::ContentFilter);
        else if (kind != "none") throw ConfigError(key, "'" + name + "' is not an error class (context_length | content_filter | none)");
    }
    return kinds;
}
} // namespace

AliasTable parseAliases(const Poco::Util::AbstractConfiguration& config, const BackendList& backends) {
    std::set<std::string> backendNames;
    for (const auto& backend : backends) backendNames.insert(backend->name);
    ConfigReader reader(config);

    std::vector<Alias> aliases;
    Poco::Util::AbstractConfiguration::Keys names;
    config.keys("aliases", names);
    for (const auto& name : names) {
        const std::string prefix = "aliases." + name;
        Poco::Util::AbstractConfiguration::Keys fields;
        config.keys(prefix, fields);
        if (name == "default" && fields.empty()) continue;  // the fallback, read below
        if (name == "default") throw ConfigError(prefix, "'default' is reserved for the model used when a request names none");
        if (!validAliasName(name))
            throw ConfigError(prefix, "'" + name + "' is not a valid alias name (letters, digits, - _ / @)");
        static const std::set<std::string> settings{"chain", "description", "previous_response_id", "retry", "fallback_on",
                                                    "continue_streams"};
        for (const auto& field : fields)
            if (!settings.contains(field))
                throw ConfigError(prefix + "." + field, "unknown alias setting (chain, description, previous_response_id, "
                                                        "retry.*, fallback_on, continue_streams)");

        Alias alias{name, reader.text(prefix + ".description"), {}};
        // Whether a Responses request that continues a stored response may go
        // on to this alias's backends: only for backends that keep responses
        // (OpenAI's own API), and only those that serve /v1/responses natively.
        const auto continuation = Poco::toLower(reader.text(prefix + ".previous_response_id", "refuse"));
        if (continuation != "refuse" && continuation != "pass")
            throw ConfigError(prefix + ".previous_response_id", "'" + continuation + "' is not refuse or pass");
        alias.passPreviousResponse = continuation == "pass";
        alias.retry = parseRetryOverride(reader, prefix + ".retry.");
        alias.fallbackOn = parseFallbackOn(reader, prefix + ".fallback_on");
        alias.continueStreams = reader.flag(prefix + ".continue_streams", false);
        for (const auto& entry : reader.list(prefix + ".chain")) {
            auto target = parseTarget(entry, backendNames);
            if (target.model.empty()) throw ConfigError(prefix + ".chain", "'" + entry + "' names no model");
            if (target.model == name && target.backend.empty())
                throw ConfigError(prefix + ".chain", "'" + entry + "' is the alias itself");
            alias.chain.push_back(std::move(target));
        }
        if (alias.chain.empty()) throw ConfigError(prefix + ".chain", "is required: name at least one model or backend/model");
        aliases.push_back(std::move(alias));
    }

    const auto fallback = reader.text("aliases.default");
    return AliasTable(std::move(aliases), fallback);
}

} // namespace sluice::kernel
