#pragma once
// GET one JSON document from a backend the way Sluice talks to it: with the
// backend's credential, its TLS settings and one time limit for the whole
// exchange. For background work (model discovery, probes, health checks);
// requests from clients go through the kernel's pooled forwarder instead.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "sluice/Abi.h"
#include "sluice/Backend.h"

namespace sluice {

// What one fetch found. Never throws; every failure is described in `error`.
struct SLUICE_API FetchResult {
    bool ok = false;  // answered 200 with a JSON body
    int status = 0;   // the HTTP status once an answer's head arrived; 0 when none did (refused, timed out, TLS)
    // One line for operators when !ok, starting with the path: "/api/tags answered 401",
    // "/api/tags: connection refused", "/models: timed out (limit 5000 ms)". It never
    // contains the backend's token, even if the backend echoed it.
    std::string error;
    nlohmann::json body;  // the parsed answer whenever it was JSON (an error body too); else null
    // From the start of the connect to the end of the answer (or the failure).
    std::chrono::milliseconds roundTrip{0};
};

// GET backend.basePath + path on a new connection, with backend.authHeader
// set when a token is configured, and TLS as makeBackendTlsContext builds it
// for https URLs. `timeout` bounds the whole exchange: connecting, sending
// and each wait for answer bytes get only what is left of it, and the answer
// is abandoned once it has run out. Answers larger than 64 MiB are refused.
// Resolving the host name is not bounded by it. Thread: any; shares nothing.
SLUICE_API FetchResult fetchJson(const Backend& backend, const std::string& path, std::chrono::milliseconds timeout);

// `text` on one line with the backend's token masked ("***"): for any message
// about a backend that may echo what it was sent (a library's error, a plugin's).
SLUICE_API std::string backendSafeLine(std::string text, const Backend& backend);

} // namespace sluice
