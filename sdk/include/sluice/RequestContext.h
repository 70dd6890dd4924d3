#pragma once
// Everything about one request as it moves through the pipeline: what the
// client sent, who they are, where it goes, and how it ended. The kernel
// creates one per request; stages read and fill it and keep no per-request
// state of their own. Thread: one request thread at a time owns it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sluice/Abi.h"
#include "sluice/AuditRecord.h"
#include "sluice/Principal.h"
#include "sluice/Route.h"
#include "sluice/RoutePlan.h"

namespace sluice {

// An answer a stage asks the kernel to send instead of forwarding. The kernel
// renders it in the client's protocol shape ({"error":"…"} for Ollama,
// {"error":{"message","type","param","code"}} for OpenAI).
struct Reply {
    int status = 0;
    std::string message;  // shown to the client: never a host, URL, token or stack trace
    std::string code;     // OpenAI error code ("invalid_api_key", "rate_limit_exceeded"); may be empty
};

// Token counts as the backend reported them (Ollama prompt_eval_count /
// eval_count, OpenAI usage), filled by the kernel when the answer ends.
struct Usage {
    std::uint64_t promptTokens = 0;
    std::uint64_t completionTokens = 0;
    bool reported = false;   // the backend said so
    bool estimated = false;  // the backend did not: counted from the text (sluice/TokenEstimate.h)
};

// A typed per-request slot for one plugin's own state. Declare one static
// SlotKey<T> per kind of state; ctx.slot(key) creates the T on first use.
template <class T>
struct SlotKey {};

class SLUICE_API RequestContext {
public:
    RequestContext();
    ~RequestContext();
    RequestContext(const RequestContext&) = delete;
    RequestContext& operator=(const RequestContext&) = delete;

    // --- The request, set by the kernel before the first stage runs ---
    std::string requestId;
    Route route;
    std::string method;
    std::string path;           // without the query string
    std::string clientAddress;  // after the trusted-proxy rules (X-Forwarded-For from a trusted proxy)
    std::string peerAddress;    // the TCP peer itself: the proxy's address when one is in front
    bool viaTrustedProxy = false;  // whether peerAddress is in server.trusted_proxies
    // Request headers with lower-case names. A stage reads credentials here.
    std::vector<std::pair<std::string, std::string>> headers;
    nlohmann::json body;        // parsed JSON body; null for GET
    std::string model;          // the requested model, "" where the route has none
    bool stream = false;        // whether the client asked for a streamed answer
    std::chrono::steady_clock::time_point startedAt;

    // The first header with this lower-case name, or nullptr.
    const std::string* header(const std::string& lowerCaseName) const;

    // --- Filled by stages ---
    std::optional<Principal> principal;  // set by the auth stage
    RoutePlan plan;                      // set by the router stage
    Reply reply;                         // set by a stage that returns Verdict::Respond
    // Extra headers for the client's answer, whatever it is (rate-limit headers).
    std::vector<std::pair<std::string, std::string>> responseHeaders;
    // Set when the body was changed (request shaping); the kernel re-serializes it.
    bool bodyChanged = false;

    // Convenience for stages: set the reply and return Verdict::Respond's partner.
    void refuse(int status, std::string message, std::string code = {});

    // --- The outcome, filled by the kernel as the request proceeds ---
    std::string servedBackend;
    std::string servedModel;
    int status = 0;
    int failovers = 0;  // candidates given up on before the one that served
    int retries = 0;    // attempts tried again on the same candidate (docs/routing.md, "Retries")
    // "backend/model" of the candidate that continued a stream another broke
    // (aliases.NAME.continue_streams); "" when the answer came from one.
    std::string continuedBy;
    std::int64_t queueMs = 0;  // waited in the queue for a backend slot (docs/capacity.md)
    Usage usage;
    Outcome outcome = Outcome::Ok;
    std::optional<std::chrono::steady_clock::time_point> firstByteAt;
    std::uint64_t bytesIn = 0;
    std::uint64_t bytesOut = 0;

    // --- Per-plugin state ---
    template <class T>
    T& slot(const SlotKey<T>& key) {
        auto& held = _slots[&key];
        if (!held) held = std::make_shared<T>();
        return *static_cast<T*>(held.get());
    }
    template <class T>
    T* findSlot(const SlotKey<T>& key) {
        auto it = _slots.find(&key);
        return it == _slots.end() ? nullptr : static_cast<T*>(it->second.get());
    }

private:
    std::unordered_map<const void*, std::shared_ptr<void>> _slots;
};

} // namespace sluice
