#pragma once
// Walks a route plan: sends the request to each candidate in turn until one
// answers, then relays the answer to the client. Fails over on connect
// errors, timeouts, 5xx, 429, 404 (model), 401/403 (our credential) and streams that die before their
// first complete frame; the first frame is read before the client sees any
// byte. After that, a failure ends the stream with a protocol-correct error.

#include <string>
#include <string_view>

#include "sluice/Metrics.h"
#include "sluice/RequestContext.h"

namespace sluice::kernel {

class Pipeline;

// The client's side of the exchange, as the front provides it.
class ClientChannel {
public:
    virtual ~ClientChannel() = default;
    // The client's socket, watched for hang-ups while waiting on a backend; -1 if none.
    virtual int socketFd() const = 0;
    // Sends a whole answer with a Content-Length.
    virtual void sendWhole(int status, const std::string& contentType, std::string_view body) = 0;
    // Sends the head of a chunked, streamed answer. False: the client is gone.
    virtual bool startStream(int status, const std::string& contentType) = 0;
    // Sends bytes as one chunk. False: the client is gone.
    virtual bool writeStream(std::string_view bytes) = 0;
    virtual void endStream() = 0;
};

class Forwarder {
public:
    explicit Forwarder(MetricsRegistry& metrics);

    // Sets ctx.status, ctx.outcome, ctx.servedBackend/Model, ctx.usage and
    // ctx.failovers, and has answered the client when it returns.
    void forward(Pipeline& pipeline, RequestContext& ctx, std::string_view body, ClientChannel& client);

private:
    // Served-request metrics by backend and model, and by alias target.
    void countServed(const RequestContext& ctx);

    MetricsRegistry& _metrics;
};

// Reads token counts from an Ollama final object or an OpenAI answer/chunk.
void readUsage(const nlohmann::json& answer, Usage& usage);

} // namespace sluice::kernel
