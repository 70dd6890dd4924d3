#pragma once
// What is kept about one finished request. Built by the kernel when the
// response has ended, handed to the audit sinks off the request path.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/Abi.h"

namespace sluice {

// The longest model name a request may give, and an audit record holds:
// the database sinks index it, and an index entry has a bounded size.
inline constexpr std::size_t kMaxModelNameBytes = 256;

enum class Outcome { Ok, RefusedAuth, RefusedLimit, RefusedPolicy, BadRequest, UpstreamError, ClientCancel, InternalError };

// "ok", "refused-auth", "refused-limit", …: the name stored and shown for an outcome.
SLUICE_API const char* outcomeName(Outcome outcome);
// The outcome of that name, or nullopt.
SLUICE_API std::optional<Outcome> outcomeFromName(std::string_view name);

struct AuditRecord {
    std::chrono::system_clock::time_point time;
    std::string requestId;
    std::string tenant;
    std::string keyId;
    std::string clientAddress;
    std::string route;
    std::string requestedModel;
    std::string servedBackend;
    std::string servedModel;
    std::string alias;
    int status = 0;
    int failovers = 0;
    int retries = 0;          // attempts tried again on the same candidate
    std::string continuedBy;  // "backend/model" that continued a broken stream ("" when none did)
    std::int64_t queueMs = 0; // waited in the queue for a backend slot
    std::uint64_t tokensIn = 0;
    std::uint64_t tokensOut = 0;
    // The backend reported no usage: tokensIn and tokensOut were counted from
    // the text (Usage::estimated, sluice/TokenEstimate.h).
    bool tokensEstimated = false;
    double timeToFirstByteMs = 0;
    double latencyMs = 0;
    std::uint64_t bytesIn = 0;
    std::uint64_t bytesOut = 0;
    Outcome outcome = Outcome::Ok;

    // Prompt and answer text, filled only for tenants that turned prompt
    // logging on (Principal::logPrompts); sinks store them apart from the
    // audit rows, under their own retention.
    bool promptLogged = false;
    std::string prompt;
    std::string answer;
};

} // namespace sluice
