#include "BackendConfig.h"

#include <filesystem>
#include <set>

#include <Poco/Exception.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include "sluice/ConfigReader.h"

namespace sluice::kernel {

namespace {
bool validName(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    return true;
}

// backends.NAME.native_apis: the agents' APIs the backend serves itself
// (messages, responses), or none. Ollama serves both (/v1/messages since
// 0.14, /v1/responses since 0.13); an older one, or a llama.cpp server, is
// told `none` or `messages` so the other is translated to Chat Completions.
unsigned parseNativeApis(const ConfigReader& reader, const std::string& key, BackendKind kind) {
    const unsigned messages = static_cast<unsigned>(NativeApi::AnthropicMessages);
    const unsigned responses = static_cast<unsigned>(NativeApi::OpenAIResponses);
    if (!reader.has(key)) {
        switch (kind) {
        case BackendKind::Ollama: return messages | responses;
        case BackendKind::OpenAI: return 0;
        case BackendKind::Anthropic: return messages;
        }
    }
    unsigned apis = 0;
    for (const auto& name : reader.list(key)) {
        const auto api = Poco::toLower(name);
        if (api == "messages") apis |= messages;
        else if (api == "responses") apis |= responses;
        else if (api != "none") throw ConfigError(key, "'" + name + "' is not an API (messages | responses | none)");
    }
    if (kind == BackendKind::Anthropic && apis != messages)
        throw ConfigError(key, "an anthropic backend serves messages, and only messages");
    return apis;
}

// `PREFIX.attempts`, `.backoff_ms` and `.max_wait_ms` over `policy`.
RetryPolicy parseRetry(const ConfigReader& reader, const std::string& prefix, RetryPolicy policy) {
    policy.attempts = static_cast<int>(reader.integer(prefix + "attempts", policy.attempts, 0, 10));
    policy.backoff = reader.millis(prefix + "backoff_ms", policy.backoff);
    policy.maxWait = reader.millis(prefix + "max_wait_ms", policy.maxWait);
    return policy;
}

// backends.NAME.accepts_prefill: all, none, or the models that continue an
// answer from an assistant prefill. Ollama's chat does for every model.
void parsePrefill(const ConfigReader& reader, const std::string& key, Backend& backend) {
    backend.prefillAll = backend.kind == BackendKind::Ollama;
    if (!reader.has(key)) return;
    const auto listed = reader.list(key);
    backend.prefillAll = listed.size() == 1 && Poco::toLower(listed.front()) == "all";
    if (backend.prefillAll || (listed.size() == 1 && Poco::toLower(listed.front()) == "none")) return;
    for (const auto& model : listed) {
        if (Poco::toLower(model) == "all" || Poco::toLower(model) == "none")
            throw ConfigError(key, "is all, none, or a list of models");
        backend.prefillModels.push_back(model);
    }
}

std::shared_ptr<const Backend> parseBackend(const Poco::Util::AbstractConfiguration& config, const std::string& name,
                                            std::size_t priority) {
    const std::string prefix = "backends." + name + ".";
    ConfigReader reader(config, "");
    auto backend = std::make_shared<Backend>();
    backend->name = name;
    backend->priority = priority;

    const auto kind = Poco::toLower(reader.text(prefix + "kind", "ollama"));
    if (kind == "ollama") backend->kind = BackendKind::Ollama;
    else if (kind == "openai") backend->kind = BackendKind::OpenAI;
    else if (kind == "anthropic") backend->kind = BackendKind::Anthropic;
    else throw ConfigError(prefix + "kind", "'" + kind + "' is not a backend kind (ollama | openai | anthropic)");
    backend->nativeApis = parseNativeApis(reader, prefix + "native_apis", backend->kind);

    backend->url = reader.requiredText(prefix + "url");
    try {
        Poco::URI uri(backend->url);
        backend->scheme = Poco::toLower(uri.getScheme());
        backend->host = uri.getHost();
        backend->port = uri.getPort();
        backend->basePath = uri.getPath();
        if (!uri.getQuery().empty() || !uri.getFragment().empty()) throw ConfigError(prefix + "url", "must not carry a query or fragment");
    } catch (const Poco::Exception&) {
        throw ConfigError(prefix + "url", "is not a valid URL");
    }
    if (backend->scheme != "http" && backend->scheme != "https")
        throw ConfigError(prefix + "url", "must start with http:// or https://");
    if (backend->host.empty()) throw ConfigError(prefix + "url", "has no host");
    while (backend->basePath.ends_with('/')) backend->basePath.pop_back();

    // Each becomes part of a header line in every upstream request.
    backend->authToken = Secret(reader.headerValue(prefix + "auth.token"));
    // Anthropic's API takes its key in x-api-key, bare.
    backend->authHeader =
        reader.text(prefix + "auth.header", backend->kind == BackendKind::Anthropic ? "x-api-key" : "Authorization");
    backend->authScheme = reader.headerValue(prefix + "auth.scheme", "Bearer");
    for (char c : backend->authHeader)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
            throw ConfigError(prefix + "auth.header", "is not a valid header name");
    for (char c : backend->authScheme)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
            throw ConfigError(prefix + "auth.scheme", "is not a valid authentication scheme (letters, digits, - _ .)");

    backend->tlsCaFile = reader.text(prefix + "tls.ca_file");
    backend->tlsVerify = reader.flag(prefix + "tls.verify", true);
    if (!backend->tlsCaFile.empty() && !std::filesystem::exists(backend->tlsCaFile))
        throw ConfigError(prefix + "tls.ca_file", "file not found: " + backend->tlsCaFile);

    backend->weight = static_cast<int>(reader.integer(prefix + "weight", 1, 1, 1000));
    backend->maxConnections = static_cast<int>(reader.integer(prefix + "max_connections", 64, 1, 4096));
    backend->connectTimeout = reader.millis(prefix + "timeout.connect_ms", backend->connectTimeout);
    backend->firstByteTimeout = reader.millis(prefix + "timeout.first_byte_ms", backend->firstByteTimeout);
    // Never shorter than the short wait: a cold model cannot answer sooner
    // than a loaded one. A file that sets only first_byte_ms (written when it
    // was the one wait) keeps meaning it for every first byte.
    const auto coldDefault = reader.has(prefix + "timeout.first_byte_ms") ? backend->firstByteTimeout : backend->coldLoadTimeout;
    backend->coldLoadTimeout =
        std::max(backend->firstByteTimeout, reader.millis(prefix + "timeout.cold_load_ms", coldDefault));
    backend->idleTimeout = reader.millis(prefix + "timeout.idle_ms", backend->idleTimeout);
    backend->retry = parseRetry(reader, prefix + "retry.", parseRetry(reader, "retry.", RetryPolicy{}));
    parsePrefill(reader, prefix + "accepts_prefill", *backend);
    return backend;
}
} // namespace

BackendList parseBackends(const Poco::Util::AbstractConfiguration& config) {
    const auto names = ConfigReader(config).list("backends");
    if (names.empty()) throw ConfigError("backends", "is required: name at least one backend");
    BackendList backends;
    std::set<std::string> seen;
    for (const auto& name : names) {
        if (!validName(name)) throw ConfigError("backends", "'" + name + "' is not a valid name (letters, digits, - and _)");
        if (!seen.insert(name).second) throw ConfigError("backends", "'" + name + "' is listed twice");
        backends.push_back(parseBackend(config, name, backends.size()));
    }
    return backends;
}

} // namespace sluice::kernel
