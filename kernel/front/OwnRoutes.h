#pragma once
// The answers the gateway gives itself: the probes, /metrics, /v1/health,
// the model lists, the aliases, and browsers' CORS preflights. Nothing here
// reaches a backend.

#include <string>

#include "../Gateway.h"
#include "PocoClientChannel.h"
#include "StageDriver.h"

namespace sluice::kernel {

// The body of /v1/health: every backend's circuit, load, slots and
// discovery, the queue, and the configuration's generation. Never a URL or token.
nlohmann::json healthReport(Gateway& gateway, Pipeline& pipeline);

class OwnRoutes {
public:
    OwnRoutes(Gateway& gateway, Pipeline& pipeline, RequestContext& ctx, PocoClientChannel& client, StageDriver& stages)
        : _gateway(gateway), _pipeline(pipeline), _ctx(ctx), _client(client), _stages(stages) {}

    // Answers the request's route; `modelId` is the {id} of /v1/models/{id}.
    // Everything but the probes authenticates first.
    void serve(const std::string& modelId);
    // A browser's CORS preflight: 204 with what the origin may do, or 403.
    // Before auth: browsers send no credentials with a preflight.
    void answerPreflight();

private:
    void replyJson(int status, const nlohmann::json& body);

    Gateway& _gateway;
    Pipeline& _pipeline;
    RequestContext& _ctx;
    PocoClientChannel& _client;
    StageDriver& _stages;
};

} // namespace sluice::kernel
