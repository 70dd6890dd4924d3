#pragma once
// A dialect owns everything specific to one pair of client protocol and
// backend protocol (docs/architecture.md, "Dialects"):
// - where the request goes on the backend and the body it is sent;
// - how a whole answer becomes the answer the client reads;
// - a filter that turns the backend's stream frames into the client's;
// - answers the gateway gives itself instead of asking the backend;
// - the shape of errors, whole and mid-stream.
// A dialect does no I/O and keeps no state between requests: the relay in
// kernel/upstream moves the bytes, applies the deadlines and decides
// failover, whatever the dialect. Pass-through is a dialect, and so is an
// Ollama client in front of an OpenAI-compatible backend.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "AnswerJson.h"
#include "http/FrameSplitter.h"
#include "sluice/Backend.h"
#include "sluice/RequestContext.h"

namespace sluice::kernel {

// The path of an API route on a backend, built from the route (not the
// client's spelling of it: "/api/chat/" is the same call as "/api/chat").
// An openai-kind URL is the API base ("…/v1"): the route's part after /v1
// follows it; other kinds take the whole route path after their base.
inline std::string backendPath(const Backend& backend, std::string_view routePath) {
    if (backend.kind == BackendKind::OpenAI && routePath.starts_with("/v1/")) routePath.remove_prefix(3);
    return backend.basePath + std::string(routePath);
}

// One candidate of one request, as a dialect sees it.
struct DialectCall {
    const RequestContext& ctx;
    const Backend& backend;
    const std::string& servedModel;  // the name the backend knows the model by
    std::string_view clientBody = {};  // the body's bytes as the client sent them (for request())
};

struct UpstreamRequest {
    std::string path;                 // on the backend, its base path included
    std::optional<std::string> body;  // nullopt: the client's bytes, as they came
    // Headers of the backend's API beyond those every request carries
    // (anthropic-version, for one). Names and values are header-safe.
    std::vector<std::pair<std::string, std::string>> headers;
};

// An answer as the client gets it, whole.
struct ClientAnswer {
    int status = 200;
    std::string contentType;
    std::string body;
    Usage usage;  // what the backend reported (reported is false when it did not)
};

// Turns a backend's stream into the client's, one complete frame at a time.
// One per streamed answer; the relay feeds it frames in order.
class StreamFilter {
public:
    enum class Step {
        Quiet,   // taken; nothing the client reads as answer yet (a comment, a role-only event)
        Answer,  // taken; what it appended carries answer data
        Done,    // the backend's end marker: the final frames were appended, the stream is over
        Error,   // an error from the backend; nothing was appended; see error()
    };
    virtual ~StreamFilter() = default;

    // Takes one complete frame (as FrameSplitter yields it) and appends what
    // the client is sent for it to `out`, which may be nothing. After a Done
    // or an Error step it appends nothing and returns that step again.
    virtual Step take(std::string_view frame, std::string& out) = 0;
    // The backend's body ended cleanly without a Done step: appends what is
    // left and returns whether the answer was whole (false: it was cut short,
    // and nothing is appended).
    virtual bool finish(std::string& out) = 0;
    // Token counts, once the backend reported them.
    virtual const Usage& usage() const = 0;
    // Whether the answer's last content frame has come (a finish_reason,
    // Ollama's done:true): a break after it loses nothing, and finish()
    // then ends the stream as a whole one. False where the filter cannot tell.
    virtual bool answered() const { return false; }
    // After an Error step: the backend's message (not yet made safe for the client).
    virtual const std::string& error() const = 0;
    // The frame that ends this stream after a failure, when it depends on
    // what the stream has sent (the Responses API numbers its events);
    // nullopt: the dialect's streamErrorFrame().
    virtual std::optional<std::string> failureFrame(const std::string& /*message*/, const std::string& /*code*/) {
        return std::nullopt;
    }
};

// How a dialect relays a streamed answer.
struct StreamPlan {
    Framing framing;          // how the backend frames it
    std::string contentType;  // what the client is told
    std::unique_ptr<StreamFilter> filter;
};

class Dialect {
public:
    virtual ~Dialect() = default;

    // An answer the gateway gives itself for this call instead of asking the
    // backend, or nullopt to ask it.
    virtual std::optional<ClientAnswer> ownAnswer(const DialectCall&) const { return std::nullopt; }
    // The request the backend is sent.
    virtual UpstreamRequest request(const DialectCall& call) const = 0;
    // The backend's whole 2xx answer (valid JSON) as the client's, or
    // nullopt when it is not an answer to this call: the backend failed.
    virtual std::optional<ClientAnswer> whole(const DialectCall& call, AnswerJson& answer, const std::string& contentType,
                                              std::chrono::nanoseconds elapsed) const = 0;
    // How to relay a 2xx answer of this content type as a stream, or nullopt
    // when it is a whole answer. `started`: when the request went out.
    virtual std::optional<StreamPlan> stream(const DialectCall& call, std::string_view contentType,
                                             std::chrono::steady_clock::time_point started) const = 0;

    // Errors in the client's protocol shape: a whole answer's body, and the
    // frame that ends a stream which failed after its first byte.
    virtual std::string errorBody(int status, const std::string& message, const std::string& code) const = 0;
    virtual std::string streamErrorFrame(const std::string& message, const std::string& code) const = 0;
};

} // namespace sluice::kernel
