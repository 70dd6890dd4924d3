#pragma once
// Runs a request through the stages in their fixed order (auth, limits,
// model policy, router; docs/architecture.md, "The request path"). A stage
// that refuses, or throws, has the client answered here, in the request's
// protocol shape: an exception from a plugin becomes a 500, never a crash.

#include "../Pipeline.h"
#include "PocoClientChannel.h"

namespace sluice::kernel {

class StageDriver {
public:
    StageDriver(Pipeline& pipeline, RequestContext& ctx, PocoClientChannel& client)
        : _pipeline(pipeline), _ctx(ctx), _client(client) {}

    // The auth stage alone (the gateway's own routes need no more). False: the client was answered.
    bool authenticate();
    // Every stage, for a call that goes to a backend; past auth when the
    // principal is `authenticated` already (the console's playground, whose
    // session stands for its key). False: the client was answered.
    bool run(bool authenticated = false);
    // Calls the limits stage's complete() once, if it admitted this request.
    void releaseLimits();

private:
    // Runs a stage's call, off the I/O thread when `mayBlock()` says it may
    // block; an exception is logged and answered 500 (false).
    template <class MayBlock>
    bool mayBlockFor(const char* stage, MayBlock& mayBlock);
    template <class MayBlock, class Call>
    bool guarded(const char* stage, MayBlock&& mayBlock, Call&& call);
    template <class MayBlock, class Call>
    bool runStage(const char* stage, Outcome refusal, int fallbackStatus, const char* fallbackMessage, MayBlock&& mayBlock,
                  Call&& call);

    Pipeline& _pipeline;
    RequestContext& _ctx;
    PocoClientChannel& _client;
    bool _admitted = false;
};

} // namespace sluice::kernel
