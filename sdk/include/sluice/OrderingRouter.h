#pragma once
// The frame every Sluice routing strategy shares, offered to plugin authors
// too: it turns the requested model or alias into steps of candidates, lets
// the strategy order each step, and puts candidates whose backend or model
// circuit is open last. A strategy then only answers one question: among backends that all
// host the same model, which first?
//
//   class CheapestRouter final : public sluice::OrderingRouter {
//       using OrderingRouter::OrderingRouter;
//       void order(const sluice::RequestContext& ctx, std::vector<sluice::Candidate>& step) override {
//           std::stable_sort(step.begin(), step.end(), [&](auto& a, auto& b) { return cost(a) < cost(b); });
//       }
//   };

#include <string>
#include <vector>

#include "sluice/Abi.h"
#include "sluice/Aliases.h"
#include "sluice/Catalog.h"
#include "sluice/RoutePlan.h"
#include "sluice/Services.h"
#include "sluice/Stages.h"

namespace sluice {

// The candidates for `model` in steps. A model: one step, every backend that
// hosts it in priority order. An alias: one step per chain entry in chain
// order; a bare model in the chain expands to its hosts, a backend/model
// pair is kept even before discovery has seen it (the operator named it).
// Each candidate's upstreamModel is the name to send to that backend.
SLUICE_API std::vector<std::vector<Candidate>> candidateSteps(const std::string& model, const Catalog& catalog,
                                                              const AliasTable& aliases);

class SLUICE_API OrderingRouter : public RouterStage {
public:
    explicit OrderingRouter(KernelServices& services) : _services(services) {}

    // Fills ctx.plan: the available candidates of each step ordered by
    // order(), steps in sequence, then every candidate whose backend is
    // unavailable, or whose model circuit is open on it (in step and config
    // order, as a last resort). Never blocks.
    Verdict route(RequestContext& ctx) final;

protected:
    // Orders one step's available candidates (all serving the same model)
    // best first, and may set each candidate's reason. Never called empty. Called on request threads
    // concurrently: keep shared state atomic or briefly locked.
    virtual void order(const RequestContext& ctx, std::vector<Candidate>& step) = 0;

    KernelServices& services() const { return _services; }

private:
    KernelServices& _services;
};

} // namespace sluice
