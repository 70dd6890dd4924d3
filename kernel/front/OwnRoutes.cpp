#include "OwnRoutes.h"

#include <cmath>

#include "../ProcessMetrics.h"
#include "ModelLists.h"
#include "capacity/Capacity.h"

namespace sluice::kernel {

namespace {
std::int64_t unixSeconds(std::chrono::system_clock::time_point at) {
    return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

// One backend in /v1/health: its circuit, why it last failed, its load and
// speed, and what discovery knows. Never its URL or token.
// A backend's slots (null without bounds): this instance's share of them in
// use, and the cap a saturation put on it, if one does.
nlohmann::json slotsHealth(const Capacity& capacity, const SlotLimits* limits, const std::string& backend) {
    if (!limits || limits->unbounded()) return nullptr;
    auto perModel = nlohmann::json::object();
    for (const auto& [model, slots] : limits->perModel) perModel[model] = slots;
    nlohmann::json slots{{"limit", limits->total > 0 ? nlohmann::json(limits->total) : nlohmann::json()},
                         {"model_limits", perModel},
                         {"in_use_here", capacity.inUse(backend)},
                         {"in_use_fleet", capacity.blocking() ? nlohmann::json(capacity.sharedInUse(backend)) : nlohmann::json()},
                         {"saturated_for_ms", nullptr}};
    if (const auto until = capacity.saturatedUntil(backend))
        slots["saturated_for_ms"] =
            std::max<long long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(*until - std::chrono::steady_clock::now()).count());
    return slots;
}

nlohmann::json backendHealth(Pipeline& pipeline, const Catalog& catalog, const Backend& backend) {
    const auto report = pipeline.backendHealth().report(backend.name);
    const auto polled = catalog.byBackend().find(backend.name);
    const bool known = polled != catalog.byBackend().end() && polled->second.ever;
    nlohmann::json entry{{"name", backend.name},
                         {"kind", backendKindName(backend.kind)},
                         {"state", std::string(circuitName(report.state))},
                         {"available", pipeline.health().isAvailable(backend.name)},
                         {"consecutive_failures", report.consecutiveFailures},
                         {"last_error", report.lastError.empty() ? nlohmann::json() : nlohmann::json(report.lastError)},
                         {"last_error_at", report.lastError.empty() ? nlohmann::json() : nlohmann::json(unixSeconds(report.lastErrorAt))},
                         {"unhealthy_until", report.state == CircuitState::Closed ? nlohmann::json()
                                                                                   : nlohmann::json(unixSeconds(report.unhealthyUntil))},
                         {"in_flight", report.inFlight},
                         {"failovers", report.failoversFrom},
                         {"first_byte_ms_avg", report.firstByteMillis ? nlohmann::json(std::round(*report.firstByteMillis * 10) / 10)
                                                                      : nlohmann::json()},
                         {"models", known ? polled->second.models.size() : 0},
                         {"loaded", known ? polled->second.loaded.size() : 0},
                         {"last_poll", known ? nlohmann::json(unixSeconds(polled->second.polledAt)) : nlohmann::json()},
                         {"auth", backend.authToken.empty() ? "none" : "attached"}};
    // Model circuits that are open or failing: one model's trouble on a
    // backend that serves the others well.
    auto models = nlohmann::json::array();
    for (const auto& model : pipeline.backendHealth().modelReports(backend.name))
        models.push_back({{"model", model.model},
                          {"state", std::string(circuitName(model.state))},
                          {"consecutive_failures", model.consecutiveFailures},
                          {"last_error", model.lastError.empty() ? nlohmann::json() : nlohmann::json(model.lastError)},
                          {"last_error_at", model.lastError.empty() ? nlohmann::json() : nlohmann::json(unixSeconds(model.lastErrorAt))},
                          {"unhealthy_until", model.state == CircuitState::Closed ? nlohmann::json()
                                                                                  : nlohmann::json(unixSeconds(model.unhealthyUntil))}});
    entry["model_circuits"] = std::move(models);
    return entry;
}
} // namespace

nlohmann::json healthReport(Gateway& gateway, Pipeline& pipeline) {
    const auto catalog = pipeline.catalog();
    auto backends = nlohmann::json::array();
    for (const auto& backend : pipeline.backends()) {
        auto entry = backendHealth(pipeline, *catalog, *backend);
        entry["slots"] = slotsHealth(gateway.capacity(), pipeline.slotLimits(backend->name), backend->name);
        backends.push_back(std::move(entry));
    }
    const auto& queue = pipeline.settings().queue;
    return {{"status", "ok"},
            {"config_generation", gateway.generation()},
            {"config_loaded_at", unixSeconds(gateway.loadedAt())},
            {"pipeline", pipeline.describe()},
            {"backends", backends},
            {"queue",
             {{"depth", gateway.capacity().depth()},
              {"max_depth", queue.maxDepth},
              {"max_wait_ms", queue.maxWait.count()},
              {"shared", gateway.capacity().blocking()}}}};
}

void OwnRoutes::replyJson(int status, const nlohmann::json& body) {
    _ctx.status = status;
    _client.sendWhole(status, "application/json", body.dump());
}

void OwnRoutes::serve(const std::string& modelId) {
    // Liveness and readiness stay open: load balancers and orchestrators
    // probe them without keys, and they say nothing beyond up and ready.
    switch (_ctx.route.kind) {
    case RouteKind::Healthz: replyJson(200, {{"status", "ok"}}); return;
    // Ollama's heartbeat: its CLI asks before `list` and `run`, unauthenticated as Ollama is.
    case RouteKind::OllamaRoot:
        _ctx.status = 200;
        _client.sendWhole(200, "text/plain; charset=utf-8", "Ollama is running");
        return;
    case RouteKind::Readyz: {
        bool ready = false;
        const auto catalog = _pipeline.catalog();
        for (const auto& backend : _pipeline.backends()) {
            auto it = catalog->byBackend().find(backend->name);
            ready = ready || (_pipeline.health().isAvailable(backend->name) && it != catalog->byBackend().end() && it->second.ever);
        }
        replyJson(ready ? 200 : 503, {{"status", ready ? "ready" : "no backend reachable"}});
        return;
    }
    default: break;
    }

    // Everything else needs the caller authenticated (metrics and health
    // name backends; model lists answer only what the caller may use).
    if (!_stages.authenticate()) return;
    const auto catalog = _pipeline.catalog();
    const auto& principal = *_ctx.principal;
    switch (_ctx.route.kind) {
    case RouteKind::Metrics: {
        const auto text = _gateway.metrics().render() + processMetricsText();
        _ctx.status = 200;
        _client.sendWhole(200, "text/plain; version=0.0.4; charset=utf-8", text);
        return;
    }
    case RouteKind::Health: replyJson(200, healthReport(_gateway, _pipeline)); return;
    case RouteKind::OllamaVersion: replyJson(200, {{"version", "0.6.5"}}); return;
    case RouteKind::OllamaTags: replyJson(200, ollamaTags(*catalog, _pipeline.aliases(), principal)); return;
    case RouteKind::OllamaPs: replyJson(200, ollamaPs(*catalog, principal)); return;
    case RouteKind::OpenAIModels: {
        auto models = openAiModels(*catalog, _pipeline.aliases(), principal);
        replyJson(200, _ctx.route.protocol == Protocol::Anthropic ? anthropicModels(models) : models);
        return;
    }
    case RouteKind::OpenAIModel: {
        if (auto model = openAiModel(*catalog, _pipeline.aliases(), principal, modelId))
            replyJson(200, _ctx.route.protocol == Protocol::Anthropic ? anthropicModel(*model) : *model);
        else
            _client.replyError(404, "The model '" + modelId.substr(0, 200) + "' does not exist", "model_not_found");
        return;
    }
    case RouteKind::Aliases: replyJson(200, aliasList(_pipeline.aliases(), principal)); return;
    default: _client.replyError(404, "no such route", "unknown_route"); return;
    }
}

void OwnRoutes::answerPreflight() {
    const auto& cors = _pipeline.settings().cors;
    const auto& origin = *_ctx.header("origin");
    if (!cors.allows(origin) || _ctx.route.kind == RouteKind::Unknown || _ctx.route.kind == RouteKind::Console) {
        _ctx.outcome = Outcome::RefusedPolicy;
        _client.replyError(403, "cross-origin requests from this origin are not allowed", "cors_forbidden");
        return;
    }
    _ctx.responseHeaders.clear();  // the preflight's own set replaces the answer headers
    const auto* requested = _ctx.header("access-control-request-headers");
    for (auto& header : cors.preflightHeaders(origin, requested ? *requested : ""))
        _ctx.responseHeaders.push_back(std::move(header));
    _ctx.status = 204;
    _ctx.outcome = Outcome::Ok;
    _client.sendWhole(204, "text/plain", "");
}

} // namespace sluice::kernel
