// An auth stage that blocks on purpose, for the test that a stage call which
// may block holds no I/O thread (integration.EdgeTest). A request with
// `x-test-block` says it may block (mayBlock), appends a line to
// `auth.blocking.gate` + ".entered", and waits until the file
// `auth.blocking.gate` exists; any other request is let in at once and says
// it will not block, so the kernel calls it on the I/O thread.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "sluice/Plugin.h"

namespace {
class BlockingAuth final : public sluice::AuthStage {
public:
    explicit BlockingAuth(const sluice::StageSetup& setup) : _gate(setup.reader.text("blocking.gate")) {
        _principal.tenant = "test";
        _principal.allowAllModels = true;
    }

    sluice::Verdict authenticate(sluice::RequestContext& ctx) override {
        if (ctx.header("x-test-block") && !_gate.empty()) {
            {
                std::lock_guard lock(_mutex);
                std::ofstream(_gate + ".entered", std::ios::app) << ctx.requestId << "\n";
            }
            // The test's own fixture waiting: nothing is asserted on its time.
            while (!std::filesystem::exists(_gate)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ctx.principal = _principal;
        return sluice::Verdict::Continue;
    }

    bool mayBlock(const sluice::RequestContext& ctx) const override { return ctx.header("x-test-block") != nullptr; }

private:
    const std::string _gate;
    sluice::Principal _principal;
    std::mutex _mutex;
};

void registerStages(sluice::StageRegistry& registry) {
    registry.addAuth("blocking", [](const sluice::StageSetup& setup) { return std::make_unique<BlockingAuth>(setup); });
    registry.declareKeys({"auth.blocking.gate"});
}
} // namespace

SLUICE_PLUGIN("blocking", "0.0.1", registerStages)
