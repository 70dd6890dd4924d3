#include "KnownKeys.h"

#include <algorithm>
#include <set>

#include "Config.h"
#include "sluice/ConfigError.h"

namespace sluice::kernel {

namespace {
std::vector<std::string> splitKey(std::string_view key) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const auto dot = key.find('.', start);
        parts.emplace_back(key.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        if (dot == std::string_view::npos) return parts;
        start = dot + 1;
    }
}

std::string_view sectionOf(std::string_view key) { return key.substr(0, key.find('.')); }

// Edits (insert, delete, replace, swap two neighbours) from `a` to `b`:
// typos are mostly one of those (`prot` for `port` is one swap).
std::size_t typoDistance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

// `pattern` as a key, each `*` taken from `key`'s part at the same place.
std::string instantiate(const std::vector<std::string>& pattern, const std::vector<std::string>& key) {
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (i) out += '.';
        out += pattern[i] == "*" && i < key.size() ? key[i] : pattern[i];
    }
    return out;
}

// A near miss in an unknown section is reported only when it is very near:
// `sever.port` is a typo, `vars.port` is someone's own key.
constexpr std::size_t kNearMissInUnknownSection = 2;
} // namespace

const std::vector<std::string>& KnownKeys::kernelPatterns() {
    static const std::vector<std::string> patterns{
        "include", "config.dir",
        // Server and logs (SluiceServer, Logging).
        "server.host", "server.port", "server.reuse_port", "server.io_threads", "server.read_ahead_bytes", "server.stage_threads", "server.max_threads", "server.max_queued", "server.backlog",
        "server.keepalive_s", "server.timeout_s", "server.max_header_bytes", "server.header_timeout_s",
        "server.body_timeout_s", "server.write_timeout_s", "server.idle_thread_s", "server.max_connections_per_client", "server.tls.cert",
        "server.tls.key", "server.trusted_proxies", "server.cors.origins", "server.drain_s",
        "log.level", "log.format", "log.path", "log.access",
        // Plugins and the pipeline (Pipeline).
        "plugins.path", "plugins.load", "pipeline.auth", "pipeline.limits", "pipeline.router", "pipeline.audit",
        "pipeline.discovery", "limits.max_body_bytes", "limits.answer_buffer_bytes",
        // Backends (BackendConfig) and aliases (AliasConfig).
        "backends", "backends.*.url", "backends.*.kind", "backends.*.native_apis", "backends.*.auth.token", "backends.*.auth.header",
        "backends.*.auth.scheme", "backends.*.tls.ca_file", "backends.*.tls.verify", "backends.*.weight",
        "backends.*.max_connections", "backends.*.timeout.connect_ms", "backends.*.timeout.first_byte_ms",
        "backends.*.timeout.idle_ms", "backends.*.timeout.cold_load_ms", "backends.*.retry.attempts",
        "backends.*.retry.backoff_ms", "backends.*.retry.max_wait_ms", "backends.*.accepts_prefill",
        "backends.*.slots", "backends.*.model_slots", "queue.max_wait_ms", "queue.max_depth", "slots.lease_ttl_ms",
        "redis.url", "redis.timeout_ms",  // also the plugins' that use Redis: backend slots are shared through it
        "timeout.max_stream_s", "timeout.request_ms", "retry.attempts", "retry.backoff_ms", "retry.max_wait_ms",
        "aliases.default", "aliases.*.chain", "aliases.*.description", "aliases.*.previous_response_id",
        "aliases.*.retry.attempts", "aliases.*.retry.backoff_ms", "aliases.*.retry.max_wait_ms", "aliases.*.fallback_on",
        "aliases.*.continue_streams",
        // Health and discovery (Pipeline, HealthProber, DiscoveryLoop).
        "health.failure_threshold", "health.backoff_ms", "health.max_backoff_ms", "health.probe_interval_ms",
        "health.probe_timeout_ms", "discovery.interval_s", "discovery.timeout_ms", "discovery.ttl_s",
        // The audit writers (AuditWriter); the sinks' own keys are the audit plugin's.
        "audit.batch_size", "audit.flush_ms", "audit.retry_ms", "audit.retry_max_ms", "audit.queue_size",
        "audit.spill_dir", "audit.shutdown_flush_ms", "audit.max_prompt_bytes",
        // The operator console (console/Console); its store is the apikey auth stage's store.url.
        "console.enabled", "console.assets_path", "console.session_idle_s", "console.session_max_s",
    };
    return patterns;
}

KnownKeys KnownKeys::kernel() {
    KnownKeys keys;
    keys.add(kernelPatterns());
    keys._sections = {"auth", "limits", "router", "audit", "discovery"};
    return keys;
}

void KnownKeys::add(const std::string& pattern) { _patterns.push_back(splitKey(pattern)); }

void KnownKeys::add(const std::vector<std::string>& patterns) {
    for (const auto& pattern : patterns) add(pattern);
}

bool KnownKeys::knows(std::string_view key) const {
    const auto parts = splitKey(key);
    for (const auto& pattern : _patterns) {
        if (pattern.size() != parts.size()) continue;
        bool match = true;
        for (std::size_t i = 0; i < parts.size() && match; ++i) match = pattern[i] == "*" || pattern[i] == parts[i];
        if (match) return true;
    }
    return false;
}

bool KnownKeys::sectionKnown(std::string_view key) const {
    const auto section = sectionOf(key);
    if (std::find(_sections.begin(), _sections.end(), section) != _sections.end()) return true;
    return std::any_of(_patterns.begin(), _patterns.end(), [&](const auto& pattern) { return pattern.front() == section; });
}

std::string KnownKeys::nearest(std::string_view key) const {
    const auto parts = splitKey(key);
    std::string best;
    auto bestDistance = std::max<std::size_t>(3, key.size() / 4) + 1;
    for (const auto& pattern : _patterns) {
        auto candidate = instantiate(pattern, parts);
        const auto distance = typoDistance(key, candidate);
        if (distance < bestDistance) {
            bestDistance = distance;
            best = std::move(candidate);
        }
    }
    return best;
}

void KnownKeys::check(const Poco::Util::AbstractConfiguration& config) const {
    const auto keys = configKeys(config);
    for (const auto& key : std::set<std::string>(keys.begin(), keys.end())) {
        if (knows(key)) continue;
        const auto suggestion = nearest(key);
        if (sectionKnown(key))
            throw ConfigError(key, suggestion.empty()
                                       ? "unknown key: neither sluiced nor a loaded plugin reads it"
                                       : "unknown key (did you mean " + suggestion + "?)");
        if (!suggestion.empty() && typoDistance(key, suggestion) <= kNearMissInUnknownSection)
            throw ConfigError(key, "unknown key (did you mean " + suggestion + "?)");
    }
}

} // namespace sluice::kernel
