// Stages that fail on purpose: an auth stage that throws on every request (the
// kernel must answer 500 and keep serving), one whose factory rejects its
// config (start-up must stop with the key named), and a router that throws
// when asked to (after the limits stage admitted the request: its lease must
// still come back).
#include "sluice/Plugin.h"

namespace {
class ThrowingAuth final : public sluice::AuthStage {
public:
    sluice::Verdict authenticate(sluice::RequestContext& ctx) override {
        if (ctx.header("x-test-throw")) throw std::runtime_error("deliberate failure");
        sluice::Principal principal;
        principal.tenant = "test";
        principal.allowAllModels = true;
        ctx.principal = principal;
        return sluice::Verdict::Continue;
    }
};

// Routes to every backend in order, or throws on `x-test-throw-router`.
class ThrowingRouter final : public sluice::RouterStage {
public:
    explicit ThrowingRouter(sluice::KernelServices& services) : _services(services) {}
    sluice::Verdict route(sluice::RequestContext& ctx) override {
        if (ctx.header("x-test-throw-router")) throw std::runtime_error("deliberate router failure");
        for (const auto& backend : _services.backends()) ctx.plan.candidates.push_back({backend->name, ctx.model, "test"});
        return sluice::Verdict::Continue;
    }

private:
    sluice::KernelServices& _services;
};

void registerStages(sluice::StageRegistry& registry) {
    registry.addRouter("throwing-router", [](const sluice::StageSetup& setup) { return std::make_unique<ThrowingRouter>(setup.services); });
    registry.addAuth("throwing", [](const sluice::StageSetup&) { return std::make_unique<ThrowingAuth>(); });
    registry.addAuth("bad-config", [](const sluice::StageSetup& setup) -> std::unique_ptr<sluice::AuthStage> {
        setup.reader.integer("bad_config.level", 1, 1, 3);
        throw sluice::ConfigError(setup.reader.fullKey("bad_config.level"), "is always wrong in this test plugin");
    });
    registry.declareKeys({"auth.bad_config.level"});
}
} // namespace

SLUICE_PLUGIN("throwing", "0.0.1", registerStages)
