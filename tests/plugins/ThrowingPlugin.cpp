// Stages that fail on purpose: an auth stage that throws on every request (the
// kernel must answer 500 and keep serving) and one whose factory rejects its
// config (start-up must stop with the key named).
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

void registerStages(sluice::StageRegistry& registry) {
    registry.addAuth("throwing", [](const sluice::StageSetup&) { return std::make_unique<ThrowingAuth>(); });
    registry.addAuth("bad-config", [](const sluice::StageSetup& setup) -> std::unique_ptr<sluice::AuthStage> {
        setup.reader.integer("bad_config.level", 1, 1, 3);
        throw sluice::ConfigError(setup.reader.fullKey("bad_config.level"), "is always wrong in this test plugin");
    });
}
} // namespace

SLUICE_PLUGIN("throwing", "0.0.1", registerStages)
