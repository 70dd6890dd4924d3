#include "sluice/OrderingRouter.h"

#include <algorithm>
#include <set>

namespace sluice {

namespace {
// Each backend is sent the name it lists the model by ("llama3.2:latest" to
// Ollama, "llama3.2" to a server that lists it so).
std::string nameOn(const Catalog& catalog, const std::string& backend, const std::string& model) {
    return catalog.resolve(backend, model).value_or(model);
}

void addHosts(const std::string& model, const Catalog& catalog, std::vector<Candidate>& step) {
    for (const auto& backend : catalog.backendsFor(model)) step.push_back({backend, nameOn(catalog, backend, model), {}});
}
} // namespace

std::vector<std::vector<Candidate>> candidateSteps(const std::string& model, const Catalog& catalog,
                                                   const AliasTable& aliases) {
    std::vector<std::vector<Candidate>> steps;
    const auto* alias = aliases.find(model);
    if (!alias) {
        steps.emplace_back();
        addHosts(model, catalog, steps.back());
        if (steps.back().empty()) steps.clear();
        return steps;
    }
    // The same backend and model twice in a chain would only repeat a failure.
    std::set<std::pair<std::string, std::string>> seen;
    for (const auto& target : alias->chain) {
        std::vector<Candidate> step;
        if (target.backend.empty()) addHosts(target.model, catalog, step);
        else step.push_back({target.backend, nameOn(catalog, target.backend, target.model), {}});
        std::erase_if(step, [&](const Candidate& c) { return !seen.emplace(c.backend, c.upstreamModel).second; });
        if (!step.empty()) steps.push_back(std::move(step));
    }
    return steps;
}

Verdict OrderingRouter::route(RequestContext& ctx) {
    const auto catalog = _services.catalog();
    const auto& aliases = _services.aliases();
    if (aliases.find(ctx.model)) ctx.plan.alias = ctx.model;
    const auto& health = _services.health();
    std::vector<Candidate> resting;  // backend or model circuit open: tried only after every available candidate
    for (auto& step : candidateSteps(ctx.model, *catalog, aliases)) {
        // The strategy orders only what can serve now, so a rotation or a
        // weight never lands on a resting backend and shifts its share.
        std::vector<Candidate> available;
        for (auto& candidate : step) {
            const bool backendUp = health.isAvailable(candidate.backend);
            if (backendUp && health.isModelAvailable(candidate.backend, candidate.upstreamModel)) {
                available.push_back(std::move(candidate));
            } else {
                candidate.reason = backendUp ? "model circuit open" : "circuit open";
                resting.push_back(std::move(candidate));
            }
        }
        if (!available.empty()) order(ctx, available);
        std::move(available.begin(), available.end(), std::back_inserter(ctx.plan.candidates));
    }
    std::move(resting.begin(), resting.end(), std::back_inserter(ctx.plan.candidates));
    return Verdict::Continue;
}

} // namespace sluice
