#include "ConsoleRoutes.h"

#include <openssl/crypto.h>

#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/URI.h>

#include "ModelLists.h"
#include "OwnRoutes.h"
#include "sluice/AuditJson.h"

namespace sluice::kernel {

namespace {

constexpr std::string_view kCookie = "sluice_console";
constexpr std::string_view kApiPrefix = "/console/api/";

// Scripts, styles and data from the console's own origin only: no inline
// script or style attribute, no frames, nowhere else to connect or post.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

// The value of cookie `name` in a Cookie header, if it is there.
std::optional<std::string> cookieValue(const std::string& header, std::string_view name) {
    std::size_t at = 0;
    while (at < header.size()) {
        const auto end = std::min(header.find(';', at), header.size());
        auto pair = std::string_view(header).substr(at, end - at);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        const auto equals = pair.find('=');
        if (equals != std::string_view::npos && pair.substr(0, equals) == name) return std::string(pair.substr(equals + 1));
        at = end + 1;
    }
    return std::nullopt;
}

bool sameSecret(const std::string& a, const std::string& b) {
    return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

ConsoleRoutes::Next ConsoleRoutes::serve(const std::string& body) {
    // Every console answer: the policy above, no sniffing, no referrer, no
    // framing, nothing cached (an operator's data, a session's pages).
    _ctx.responseHeaders.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
    _ctx.responseHeaders.emplace_back("X-Content-Type-Options", "nosniff");
    _ctx.responseHeaders.emplace_back("Referrer-Policy", "no-referrer");
    _ctx.responseHeaders.emplace_back("X-Frame-Options", "DENY");
    _ctx.responseHeaders.emplace_back("Cache-Control", "no-store");
    const std::string_view path = _ctx.path;
    if (path.starts_with(kApiPrefix)) return serveApi(path.substr(kApiPrefix.size()), body);
    if (_ctx.method != "GET" && _ctx.method != "HEAD") {
        _ctx.responseHeaders.emplace_back("Allow", "GET, HEAD");
        refuse(405, "method_not_allowed", "the console's pages are read with GET");
        return Next::Answered;
    }
    // The pages link relative to /console/.
    if (path == "/console") {
        _ctx.responseHeaders.emplace_back("Location", "/console/");
        _ctx.status = 303;
        _client.sendWhole(303, "text/plain; charset=utf-8", "");
        return Next::Answered;
    }
    const auto relative = path.substr(std::string_view("/console/").size());
    serveFile(relative.empty() ? std::string_view("index.html") : relative);
    return Next::Answered;
}

void ConsoleRoutes::serveFile(std::string_view relative) {
    const auto* asset = _console.assets.find(relative);
    if (!asset) {
        refuse(404, "not_found", "no such page");
        return;
    }
    // A page other than the login needs a session: an ordinary key never
    // sees one. Scripts and styles hold nothing private.
    if (relative.ends_with(".html") && relative != "login.html") {
        const auto live = session();
        if (_client.sent()) return;
        if (!live) {
            _ctx.responseHeaders.emplace_back("Location", "/console/login.html");
            _ctx.status = 303;
            _client.sendWhole(303, "text/plain; charset=utf-8", "");
            return;
        }
    }
    _ctx.status = 200;
    _client.sendWhole(200, asset->contentType, asset->body);
}

ConsoleRoutes::Next ConsoleRoutes::serveApi(std::string_view call, const std::string& body) {
    const bool change = _ctx.method == "POST";
    if (!change && _ctx.method != "GET") {
        _ctx.responseHeaders.emplace_back("Allow", "GET, POST");
        refuse(405, "method_not_allowed", "the console's API takes GET and POST");
        return Next::Answered;
    }
    if (call == "login") {
        if (change) {
            login();
        } else {
            _ctx.responseHeaders.emplace_back("Allow", "POST");
            refuse(405, "method_not_allowed", "log in with POST");
        }
        return Next::Answered;
    }
    const auto live = session();
    if (_client.sent()) return Next::Answered;
    if (!live) {
        refuse(401, "console_login_required", "log in to the console first");
        return Next::Answered;
    }
    _ctx.principal = live->principal;  // the audit trail and access log name the operator
    if (change && !changeAllowed(*live)) return Next::Answered;
    if (call == "session" && !change) {
        replyJson(200, {{"tenant", live->tenant}, {"key_id", live->keyId}, {"csrf", live->csrf}});
    } else if (call == "logout" && change) {
        const auto token = cookieValue(_ctx.header("cookie") ? *_ctx.header("cookie") : "", kCookie).value_or("");
        if (!blocking([&] { _console.service->close(token); })) return Next::Answered;
        setSessionCookie("", 0);
        replyJson(200, nlohmann::json::object());
    } else if (call == "overview" && !change) {
        replyJson(200, overview());
    } else if (call == "models" && !change) {
        auto names = nlohmann::json::array();
        const auto models = openAiModels(*_pipeline.catalog(), _pipeline.aliases(), live->principal);
        for (const auto& model : models["data"]) names.push_back(model["id"]);
        replyJson(200, {{"models", names}});
    } else if (call == "playground" && change) {
        return Next::ForwardChat;
    } else {
        ConsoleCall request{_ctx.method, std::string(call), {}, nlohmann::json::object(), _ctx.clientAddress};
        try {
            for (const auto& [name, value] : Poco::URI(_uri).getQueryParameters()) request.query[name] = value;
        } catch (const Poco::Exception&) {
            refuse(400, "bad_request", "the query string is malformed");
            return Next::Answered;
        }
        if (change) request.body = nlohmann::json::parse(body.empty() ? std::string("{}") : body, nullptr, false);
        if (change && !request.body.is_object()) {
            refuse(400, "invalid_json", "the body is not a JSON object");
            return Next::Answered;
        }
        ConsoleReply reply;
        if (!blocking([&] { reply = _console.service->call(request, *live); })) return Next::Answered;
        replyJson(reply.status, reply.body);
    }
    return Next::Answered;
}

void ConsoleRoutes::login() {
    const auto* type = _ctx.header("content-type");
    if (!fromOwnOrigin() || !type || !type->starts_with("application/json")) {
        refuse(403, "console_forbidden", "log in from the console's own page");
        return;
    }
    // The pipeline's own auth stage: the same keys, hashing, failure limits
    // and revocations as every API call. It answers a bad key itself.
    if (!_stages.authenticate()) return;
    if (!_ctx.principal->admin) {
        _pipeline.logger("kernel").warning("console: key %s of tenant %s is not an admin; refused", _ctx.principal->keyId,
                                           _ctx.principal->tenant);
        refuse(403, "console_forbidden", "this key may not open the console (sluicectl keys set KEYID --admin on)");
        return;
    }
    OpenedSession opened;
    if (!blocking([&] { opened = _console.service->open(*_ctx.principal, _ctx.clientAddress); })) return;
    setSessionCookie(opened.token, _console.settings.sessionMax.count());
    replyJson(200, {{"tenant", _ctx.principal->tenant}, {"key_id", _ctx.principal->keyId}, {"csrf", opened.csrf}});
}

std::optional<ConsoleSession> ConsoleRoutes::session() {
    const auto* header = _ctx.header("cookie");
    const auto token = header ? cookieValue(*header, kCookie) : std::nullopt;
    if (!token || token->empty()) return std::nullopt;
    std::optional<ConsoleSession> found;
    if (!blocking([&] { found = _console.service->resume(*token); })) return std::nullopt;
    return found;
}

bool ConsoleRoutes::changeAllowed(const ConsoleSession& session) {
    const auto* csrf = _ctx.header("x-sluice-csrf");
    const auto* type = _ctx.header("content-type");
    if (!csrf || !sameSecret(*csrf, session.csrf)) {
        refuse(403, "csrf_failed", "the change did not carry this session's X-Sluice-CSRF token");
        return false;
    }
    // A form on another site cannot send JSON without a preflight, which the console never answers.
    if (!type || !type->starts_with("application/json")) {
        refuse(403, "csrf_failed", "changes are sent as application/json");
        return false;
    }
    if (!fromOwnOrigin()) {
        refuse(403, "csrf_failed", "the change came from another origin");
        return false;
    }
    return true;
}

bool ConsoleRoutes::fromOwnOrigin() const {
    // Browsers say where a request comes from; a client that is not a
    // browser says nothing, and brings no cookie it was not given.
    if (const auto* site = _ctx.header("sec-fetch-site"); site && *site != "same-origin" && *site != "none") return false;
    const auto* origin = _ctx.header("origin");
    if (!origin) return true;
    const auto* host = _ctx.header("host");
    return host && *origin == std::string(_secure ? "https://" : "http://") + *host;
}

nlohmann::json ConsoleRoutes::overview() {
    auto health = healthReport(_gateway, _pipeline);
    // The models each backend hosts and holds loaded, by name (the health report counts them).
    const auto catalog = _pipeline.catalog();
    for (auto& backend : health["backends"]) {
        auto hosted = nlohmann::json::array(), loaded = nlohmann::json::array();
        const auto polled = catalog->byBackend().find(backend["name"].get<std::string>());
        if (polled != catalog->byBackend().end()) {
            for (const auto& model : polled->second.models) hosted.push_back(model.name);
            for (const auto& model : polled->second.loaded) loaded.push_back(model.name);
        }
        backend["hosted_models"] = std::move(hosted);
        backend["loaded_models"] = std::move(loaded);
    }
    const auto loadedAt = std::chrono::duration_cast<std::chrono::milliseconds>(_gateway.loadedAt().time_since_epoch()).count();
    return {{"config", {{"generation", _gateway.generation()}, {"loaded_at", isoTime(loadedAt)}}}, {"health", std::move(health)}};
}

template <class Work>
bool ConsoleRoutes::blocking(Work&& work) {
    try {
        if (_client.servedOnLoop()) _client.offLoop(work);
        else work();
        return true;
    } catch (const StageThreadsBusy&) {
        _ctx.responseHeaders.emplace_back("Retry-After", "1");
        refuse(503, "server_busy", "the gateway is busy; try again");
    } catch (const std::exception& e) {
        _pipeline.logger("kernel").error("request %s: console: %s", _ctx.requestId, std::string(e.what()));
        refuse(500, "console_store_error", "the console's store could not answer; the gateway's log says why");
    }
    return false;
}

void ConsoleRoutes::replyJson(int status, const nlohmann::json& body) {
    _ctx.status = status;
    // What the audit trail and the access log say of a refusal.
    if (status >= 400)
        _ctx.outcome = status == 401 ? Outcome::RefusedAuth
                       : status == 403 ? Outcome::RefusedPolicy
                       : status >= 500 ? Outcome::InternalError
                                       : Outcome::BadRequest;
    _client.sendWhole(status, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void ConsoleRoutes::refuse(int status, const std::string& code, const std::string& message) {
    replyJson(status, {{"error", {{"code", code}, {"message", message}}}});
}

void ConsoleRoutes::setSessionCookie(const std::string& value, long long maxAgeSeconds) {
    // Path=/console: the API and pages only, never sent with an API call to /v1.
    _ctx.responseHeaders.emplace_back("Set-Cookie", std::string(kCookie) + "=" + value + "; Path=/console; Max-Age=" +
                                                        std::to_string(maxAgeSeconds) + "; HttpOnly; SameSite=Strict" +
                                                        (_secure ? "; Secure" : ""));
}

} // namespace sluice::kernel
