// allow-all: an auth stage for development that lets every request in as the
// tenant "anonymous" with every model. It says so loudly at start-up, because
// a gateway running it in production is an open door.

#include "sluice/Plugin.h"

namespace {

class AllowAllAuth final : public sluice::AuthStage {
public:
    explicit AllowAllAuth(const sluice::StageSetup& setup) {
        _principal.tenant = setup.reader.text("allow_all.tenant", "anonymous");
        _principal.allowAllModels = true;
        // For trying the audit's prompt log without a key store.
        _principal.logPrompts = setup.reader.flag("allow_all.log_prompts", false);
        setup.services.logger("auth").warning(
            "INSECURE: pipeline.auth = allow-all lets every request in without a key; use it for development only");
    }

    sluice::Verdict authenticate(sluice::RequestContext& ctx) override {
        ctx.principal = _principal;
        return sluice::Verdict::Continue;
    }
    bool mayBlock(const sluice::RequestContext&) const override { return false; }

private:
    sluice::Principal _principal;
};

void registerStages(sluice::StageRegistry& registry) {
    registry.addAuth("allow-all", [](const sluice::StageSetup& setup) { return std::make_unique<AllowAllAuth>(setup); });
    registry.declareKeys({"auth.allow_all.tenant", "auth.allow_all.log_prompts"});
}

} // namespace

SLUICE_PLUGIN("allow-all", "0.1.0", registerStages)
