#include "StoreConsole.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <set>

#include "AdminJson.h"
#include "AdminOps.h"
#include "ApiKey.h"
#include "AuditRows.h"
#include "AuditSettings.h"
#include "Grants.h"
#include "KeyCache.h"
#include "sluice/AuditJson.h"
#include "sluice/ConfigError.h"
#include "sluice/store/Migrations.h"
#include "sluice/store/StoreError.h"

namespace sluice::admin {

namespace {

using kernel::ConsoleCall;
using kernel::ConsoleReply;
using kernel::ConsoleSession;

constexpr long long kMaxRangeMs = 31LL * 86400 * 1000;
constexpr long long kMaxBuckets = 500;
// A session's last use is written at most this often: the overview polls.
constexpr long long kTouchEverySeconds = 60;
// Usage lines drawn at most; the rest are summed into kOtherSeries.
constexpr std::size_t kMaxSeries = 50;
constexpr std::string_view kOtherSeries = "(other)";

// A refused call, in the console API's error shape.
class Refused : public std::runtime_error {
public:
    Refused(int answer, std::string errorCode, const std::string& message)
        : std::runtime_error(message), status(answer), code(std::move(errorCode)) {}
    int status;
    std::string code;
};

std::string hexDigest(const std::string& token) {
    const auto digest = auth::digestOf(token);
    std::string hex;
    char byte[3];
    for (const auto b : digest) {
        std::snprintf(byte, sizeof byte, "%02x", b);
        hex += byte;
    }
    return hex;
}

bool sameStore(const store::StoreUrl& a, const store::StoreUrl& b) {
    return a.engine == b.engine && a.sqlitePath == b.sqlitePath && a.connectionString == b.connectionString;
}

// "path/of/call" split at '/'.
std::vector<std::string> partsOf(const std::string& path) {
    std::vector<std::string> parts;
    std::size_t at = 0;
    while (at <= path.size()) {
        const auto end = std::min(path.find('/', at), path.size());
        parts.push_back(path.substr(at, end - at));
        at = end + 1;
    }
    return parts;
}

std::optional<std::string> queryText(const ConsoleCall& call, const std::string& name) {
    const auto it = call.query.find(name);
    if (it == call.query.end() || it->second.empty()) return std::nullopt;
    return it->second;
}

long long queryNumber(const ConsoleCall& call, const std::string& name, long long fallback, long long min, long long max) {
    const auto text = queryText(call, name);
    if (!text) return fallback;
    std::size_t used = 0;
    long long value = 0;
    try {
        value = std::stoll(*text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text->size() || value < min || value > max)
        throw Refused(400, "invalid_request", name + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    return value;
}

// A field of a change's body, of the type it must have, or its fallback when absent.
template <class T>
T field(const nlohmann::json& body, const char* name, T fallback) {
    const auto it = body.find(name);
    if (it == body.end() || it->is_null()) return fallback;
    try {
        return it->get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Refused(400, "invalid_request", std::string("\"") + name + "\" has the wrong type");
    }
}

Actor actorOf(const ConsoleSession& who, const ConsoleCall& call) { return {"console", "key:" + who.keyId, call.clientAddress}; }

} // namespace

std::unique_ptr<kernel::ConsoleService> StoreConsole::make(const Poco::Util::AbstractConfiguration& config,
                                                          const kernel::ConsoleSettings& settings, bool checkOnly) {
    // Only the apikey stage's keys carry the admin flag: any other auth
    // stage would let nobody in (allow-all) or someone unknown to the store.
    if (config.getString("pipeline.auth", "") != "apikey")
        throw ConfigError("console.enabled", "needs pipeline.auth = apikey: the console opens only to keys with the admin flag");
    auto auth = auth::readAuthSettings(config);
    auto auditUrl = audit::auditReadUrl(config);
    if (checkOnly) return nullptr;
    return std::make_unique<StoreConsole>(std::move(auth), std::move(auditUrl), settings);
}

StoreConsole::StoreConsole(auth::AuthSettings auth, store::StoreUrl auditUrl, kernel::ConsoleSettings settings)
    : _auth(std::move(auth)), _settings(std::move(settings)), _database(std::make_unique<store::Database>(_auth.store, 4)),
      _auditDatabase(sameStore(auditUrl, _auth.store) ? nullptr : std::make_unique<store::Database>(auditUrl, 2)),
      _store(*_database), _sessions(*_database), _audit(_auditDatabase ? *_auditDatabase : *_database) {}

kernel::OpenedSession StoreConsole::open(const Principal& admin, const std::string& clientAddress) {
    const auto now = store::storeNow();
    _sessions.removeEnded(now, now - _settings.sessionIdle.count());
    kernel::OpenedSession opened{auth::randomBase62(43), auth::randomBase62(32)};
    store::ConsoleSessionRecord record{hexDigest(opened.token), admin.keyId, opened.csrf, clientAddress,
                                       now, now, now + _settings.sessionMax.count()};
    _sessions.create(record);
    return opened;
}

std::optional<ConsoleSession> StoreConsole::resume(const std::string& token) {
    const auto hash = hexDigest(token);
    const auto session = _sessions.find(hash);
    if (!session) return std::nullopt;
    const auto now = store::storeNow();
    if (session->expiresAt <= now || session->lastSeenAt + _settings.sessionIdle.count() <= now) {
        _sessions.remove(hash);
        return std::nullopt;
    }
    // The key as it is now: revoked, disabled, expired or no longer an
    // admin (itself or its tenant) ends the session.
    const auto found = _store.findKey(session->keyId);
    const bool tenantLive = found && found->tenant.enabled && (found->tenant.expiresAt == 0 || found->tenant.expiresAt > now);
    if (!found || !tenantLive || found->key.state(now) != store::KeyState::Active || !(found->key.admin || found->tenant.admin)) {
        _sessions.remove(hash);
        return std::nullopt;
    }
    if (now - session->lastSeenAt >= kTouchEverySeconds) _sessions.touch(hash, now);
    return ConsoleSession{session->keyId, found->tenant.name, session->csrf, auth::principalFor(*found)};
}

void StoreConsole::close(const std::string& token) { _sessions.remove(hexDigest(token)); }

ConsoleReply StoreConsole::call(const ConsoleCall& call, const ConsoleSession& who) {
    const auto parts = partsOf(call.path);
    try {
        if (parts[0] == "tenants") return tenants(call, who);
        if (parts[0] == "keys") return keys(call, who);
        if (parts[0] == "usage" && call.method == "GET" && parts.size() == 1) return usage(call);
        if (parts[0] == "requests" && call.method == "GET" && parts.size() == 1) return requests(call);
        if (parts[0] == "actions" && call.method == "GET" && parts.size() == 1) return actions(call);
        throw Refused(404, "not_found", "no such console call: " + call.method + " " + call.path.substr(0, 200));
    } catch (const Refused& refused) {
        return {refused.status, {{"error", {{"code", refused.code}, {"message", refused.what()}}}}};
    } catch (const store::NotFound& e) {
        return {404, {{"error", {{"code", "not_found"}, {"message", e.what()}}}}};
    } catch (const store::AlreadyExists& e) {
        return {409, {{"error", {{"code", "already_exists"}, {"message", e.what()}}}}};
    } catch (const std::invalid_argument& e) {
        return {400, {{"error", {{"code", "invalid_request"}, {"message", e.what()}}}}};
    } catch (const NotAnnounced& e) {
        return {503, {{"error", {{"code", "not_announced"}, {"message", e.what()}}}}};
    }
}

ConsoleReply StoreConsole::tenants(const ConsoleCall& call, const ConsoleSession& who) {
    const auto parts = partsOf(call.path);
    AdminOps ops(_store, _auth);
    if (call.method == "GET" && parts.size() == 1) {
        auto list = nlohmann::json::array();
        for (const auto& tenant : _store.tenants()) list.push_back(tenantJson(tenant));
        return {200, {{"tenants", list}}};
    }
    if (call.method == "POST" && parts.size() == 1) {
        store::TenantRecord tenant;
        tenant.name = field<std::string>(call.body, "name", "");
        tenant.grant.allowAll = field<bool>(call.body, "all_models", false);
        tenant.grant.models = field<std::vector<std::string>>(call.body, "models", {});
        for (const auto& model : tenant.grant.models)
            if (!store::AuthStore::validModelName(model)) throw Refused(400, "invalid_request", "invalid model name '" + model + "'");
        tenant.admin = field<bool>(call.body, "admin", false);
        return {201, tenantJson(ops.createTenant(tenant, actorOf(who, call)))};
    }
    if (call.method == "POST" && parts.size() == 3 && (parts[2] == "enable" || parts[2] == "disable")) {
        auto tenant = _store.findTenant(parts[1]);
        if (!tenant) throw store::NotFound("no tenant '" + parts[1] + "'");
        tenant->enabled = parts[2] == "enable";
        return {200, tenantJson(ops.updateTenant(*tenant, "tenant." + parts[2], actorOf(who, call)))};
    }
    throw Refused(404, "not_found", "no such console call: " + call.method + " " + call.path.substr(0, 200));
}

ConsoleReply StoreConsole::keys(const ConsoleCall& call, const ConsoleSession& who) {
    const auto parts = partsOf(call.path);
    AdminOps ops(_store, _auth);
    if (call.method == "GET" && parts.size() == 1) {
        const auto tenant = queryText(call, "tenant").value_or("");
        auto list = nlohmann::json::array();
        for (const auto& key : _store.keys(tenant)) list.push_back(keyJson(key));
        return {200, {{"keys", list}}};
    }
    if (call.method == "POST" && parts.size() == 1) {
        store::KeyRecord key;
        key.tenant = field<std::string>(call.body, "tenant", "");
        if (key.tenant.empty()) throw Refused(400, "invalid_request", "a key needs \"tenant\"");
        key.admin = field<bool>(call.body, "admin", false);
        auto made = ops.createKey(key, actorOf(who, call));
        auto out = keyJson(made.record);
        out["key"] = made.text;  // the only time it is shown
        return {201, out};
    }
    if (call.method == "POST" && parts.size() == 3) {
        const auto& keyId = parts[1];
        const auto& action = parts[2];
        if (action == "revoke") ops.revokeKey(keyId, actorOf(who, call));
        else if (action == "enable" || action == "disable") ops.setKeyEnabled(keyId, action == "enable", actorOf(who, call));
        else throw Refused(404, "not_found", "keys/ID/" + action.substr(0, 50) + ": revoke, enable or disable");
        const auto found = _store.findKey(keyId);
        return {200, keyJson(found->key)};
    }
    throw Refused(404, "not_found", "no such console call: " + call.method + " " + call.path.substr(0, 200));
}

ConsoleReply StoreConsole::usage(const ConsoleCall& call) {
    const auto now = store::storeNowMs();
    store::UsageSeriesQuery query;
    query.toMs = queryNumber(call, "to_ms", now, 1, now + 86400000);
    query.fromMs = queryNumber(call, "from_ms", query.toMs - 3600000, 0, query.toMs - 1);
    if (query.toMs - query.fromMs > kMaxRangeMs) throw Refused(400, "invalid_request", "the range is longer than 31 days");
    // At most 500 buckets: a step too fine for the range is widened.
    query.stepMs = std::max(queryNumber(call, "step_ms", 60000, 1000, kMaxRangeMs),
                            (query.toMs - query.fromMs + kMaxBuckets - 1) / kMaxBuckets);
    const auto by = queryText(call, "by").value_or("tenant");
    if (by == "tenant") query.by = store::UsageBy::Tenant;
    else if (by == "key") query.by = store::UsageBy::Key;
    else if (by == "model") query.by = store::UsageBy::Model;
    else throw Refused(400, "invalid_request", "by is tenant, key or model");
    query.tenant = queryText(call, "tenant");
    query.keyId = queryText(call, "key");
    query.model = queryText(call, "model");
    const auto points = _audit.usageSeries(query);
    // The busiest kMaxSeries names by requests keep their lines; the rest
    // are summed into one, so a chart stays readable and the answer bounded.
    std::map<std::string, long long> requestsOf;
    for (const auto& point : points) requestsOf[point.series] += point.requests;
    std::vector<std::pair<long long, std::string>> busiest;
    for (const auto& [name, requests] : requestsOf) busiest.emplace_back(-requests, name);
    std::sort(busiest.begin(), busiest.end());
    std::set<std::string> kept;
    for (std::size_t i = 0; i < busiest.size() && i < kMaxSeries; ++i) kept.insert(busiest[i].second);
    // One series per name, its points in time order (the store's order).
    std::map<std::string, std::map<long long, std::array<long long, 3>>> series;
    for (const auto& point : points) {
        auto& bucket = series[kept.count(point.series) ? point.series : std::string(kOtherSeries)][point.bucketMs];
        bucket[0] += point.requests;
        bucket[1] += point.promptTokens;
        bucket[2] += point.completionTokens;
    }
    auto list = nlohmann::json::array();
    for (const auto& [name, buckets] : series) {
        auto line = nlohmann::json::array();
        for (const auto& [bucket, sums] : buckets) line.push_back({bucket, sums[0], sums[1], sums[2]});
        list.push_back({{"name", name}, {"points", std::move(line)}});
    }
    return {200, {{"from_ms", query.fromMs}, {"to_ms", query.toMs}, {"step_ms", query.stepMs}, {"by", by}, {"series", list}}};
}

ConsoleReply StoreConsole::requests(const ConsoleCall& call) {
    store::AuditQuery query;
    query.tenant = queryText(call, "tenant");
    query.keyId = queryText(call, "key");
    query.model = queryText(call, "model");
    if (const auto status = queryText(call, "status")) {
        if (status->size() == 3 && status->substr(1) == "xx" && (*status)[0] >= '1' && (*status)[0] <= '5')
            query.statusClass = (*status)[0] - '0';
        else
            query.status = static_cast<int>(queryNumber(call, "status", 0, 100, 599));
    }
    query.limit = static_cast<std::size_t>(queryNumber(call, "limit", 100, 1, 1000));
    query.sinceMs = queryNumber(call, "since_ms", store::storeNowMs() - 7LL * 86400 * 1000, 0, store::storeNowMs());
    auto rows = _audit.tail(query);
    std::reverse(rows.begin(), rows.end());  // newest first
    // The records as `sluicectl audit tail --json` prints them (an ordered
    // object there, so taken over as text); never the prompt or answer text:
    // the tail reads none.
    auto list = nlohmann::ordered_json::array();
    for (const auto& row : rows) list.push_back(auditRecordJson(audit::fromRow(row)));
    return {200, {{"requests", nlohmann::json::parse(list.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace))}}};
}

ConsoleReply StoreConsole::actions(const ConsoleCall& call) {
    auto list = nlohmann::json::array();
    for (const auto& action : _store.adminActions(static_cast<std::size_t>(queryNumber(call, "limit", 50, 1, 1000))))
        list.push_back({{"at", isoTime(action.atMs)},
                        {"via", action.via},
                        {"actor", action.actor},
                        {"action", action.action},
                        {"subject", action.subject},
                        {"client_address", action.clientAddress}});
    return {200, {{"actions", list}}};
}

} // namespace sluice::admin
