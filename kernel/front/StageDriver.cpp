#include "StageDriver.h"

#include <Poco/Logger.h>

namespace sluice::kernel {

// A stage's mayBlock(); one that throws is taken at its default: it may block.
template <class MayBlock>
bool StageDriver::mayBlockFor(const char* stage, MayBlock& mayBlock) {
    try {
        return mayBlock();
    } catch (...) {
        _pipeline.logger("kernel").error("request %s: %s stage's mayBlock threw", _ctx.requestId, std::string(stage));
        return true;
    }
}

template <class MayBlock, class Call>
bool StageDriver::guarded(const char* stage, MayBlock&& mayBlock, Call&& call) {
    try {
        // A call that may block is made off the I/O thread (a stage thread);
        // the request comes back to its loop after.
        if (!_client.servedOnLoop() || !mayBlockFor(stage, mayBlock)) return call();
        bool passed = false;
        _client.offLoop([&] { passed = call(); });
        return passed;
    } catch (const StageThreadsBusy&) {
        _ctx.outcome = Outcome::InternalError;
        _ctx.responseHeaders.emplace_back("Retry-After", "1");
        _client.replyError(503, "the gateway is busy; try again", "server_busy");
        return false;
    } catch (const std::exception& e) {
        _pipeline.logger("kernel").error("request %s: %s stage threw: %s", _ctx.requestId, std::string(stage), std::string(e.what()));
    } catch (...) {
        _pipeline.logger("kernel").error("request %s: %s stage threw a non-exception", _ctx.requestId, std::string(stage));
    }
    _ctx.outcome = Outcome::InternalError;
    _client.replyError(500, "internal error", "internal_error");
    return false;
}

template <class MayBlock, class Call>
bool StageDriver::runStage(const char* stage, Outcome refusal, int fallbackStatus, const char* fallbackMessage,
                           MayBlock&& mayBlock, Call&& call) {
    if (guarded(stage, std::forward<MayBlock>(mayBlock), std::forward<Call>(call))) return true;
    // A stage that refused set ctx.reply; one that threw was answered by guarded().
    if (!_client.sent()) {
        _ctx.outcome = refusal;
        _client.replyError(_ctx.reply.status ? _ctx.reply.status : fallbackStatus,
                           _ctx.reply.message.empty() ? fallbackMessage : _ctx.reply.message, _ctx.reply.code);
    }
    return false;
}

bool StageDriver::authenticate() {
    auto& auth = _pipeline.auth();
    if (!runStage("auth", Outcome::RefusedAuth, 401, "unauthorized", [&] { return auth.mayBlock(_ctx); },
                  [&] { return auth.authenticate(_ctx) == Verdict::Continue; }))
        return false;
    if (_ctx.principal) return true;
    _pipeline.logger("kernel").error("auth stage continued without setting a principal");
    _ctx.outcome = Outcome::InternalError;
    _client.replyError(500, "internal error", "internal_error");
    return false;
}

bool StageDriver::run(bool authenticated) {
    if (!authenticated && !authenticate()) return false;
    if (auto* limits = _pipeline.limits()) {
        if (!runStage("limits", Outcome::RefusedLimit, 429, "rate limit exceeded", [&] { return limits->mayBlock(_ctx); },
                      [&] { return limits->admit(_ctx) == Verdict::Continue; }))
            return false;
        _admitted = true;
    }
    // A model the caller may not use and a model nobody hosts look the same.
    if (!_ctx.principal->mayUse(_ctx.model)) {
        _ctx.outcome = Outcome::RefusedPolicy;
        _client.replyError(403, "model not allowed", "model_not_allowed");
        return false;
    }
    auto& router = _pipeline.router();
    // A router must not block (sluice/Stages.h): it runs where the request does.
    if (!runStage("router", Outcome::RefusedPolicy, 403, "model not allowed", [] { return false; },
                  [&] { return router.route(_ctx) == Verdict::Continue; }))
        return false;
    if (_ctx.plan.candidates.empty()) {
        _ctx.outcome = Outcome::RefusedPolicy;
        _client.replyError(403, "model not allowed", "model_not_allowed");
        return false;
    }
    return true;
}

void StageDriver::releaseLimits() {
    if (!_admitted) return;
    _admitted = false;
    auto* limits = _pipeline.limits();
    if (!limits) return;
    auto mayBlock = [&] { return limits->mayBlock(_ctx); };
    if (!_client.servedOnLoop() || !mayBlockFor("limits", mayBlock)) return limits->complete(_ctx);
    try {
        _client.offLoop([&] { limits->complete(_ctx); });
    } catch (const StageThreadsBusy&) {
        // A lease must come back however busy the gateway is: here, then.
        limits->complete(_ctx);
    }
}

} // namespace sluice::kernel
