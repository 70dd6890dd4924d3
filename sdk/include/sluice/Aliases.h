#pragma once
// Aliases: a stable model name that clients use ("team/fast") standing for a
// chain of concrete targets, tried in order (the failover order across
// models and providers). Read from `aliases.NAME.chain` at pipeline build;
// immutable afterwards.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "sluice/Abi.h"
#include "sluice/Backend.h"

namespace sluice {

struct AliasTarget {
    std::string backend;  // a configured backend, or "" for any backend that hosts the model
    std::string model;

    // "backend/model" or the bare model: how it is written in config and metrics.
    std::string label() const { return backend.empty() ? model : backend + "/" + model; }
};

// Client errors (4xx) that move an alias's request on to its next entry
// instead of going back to the client: `aliases.NAME.fallback_on`.
enum class FallbackOn : unsigned {
    ContextLength = 1u << 0,  // the prompt is longer than the model's context
    ContentFilter = 1u << 1,  // the provider's content policy refused it
};

// An alias's own retry settings, each overriding the backend's when set.
struct RetryOverride {
    std::optional<int> attempts;
    std::optional<std::chrono::milliseconds> backoff;
    std::optional<std::chrono::milliseconds> maxWait;

    RetryPolicy over(RetryPolicy policy) const {
        if (attempts) policy.attempts = *attempts;
        if (backoff) policy.backoff = *backoff;
        if (maxWait) policy.maxWait = *maxWait;
        return policy;
    }
};

struct Alias {
    std::string name;
    std::string description;
    std::vector<AliasTarget> chain;
    // aliases.NAME.previous_response_id = pass: a Responses request that
    // continues a stored response goes on to the chain's backends that serve
    // the Responses API natively; refused (400) otherwise, as Sluice stores none.
    bool passPreviousResponse = false;
    RetryOverride retry;
    unsigned fallbackOn = 0;  // FallbackOn bits; 0: no 4xx fails over
    bool fallsBackOn(FallbackOn kind) const { return (fallbackOn & static_cast<unsigned>(kind)) != 0; }
    // aliases.NAME.continue_streams: a stream that breaks after its first
    // frame is continued by the next entry that accepts a prefill.
    bool continueStreams = false;
};

class SLUICE_API AliasTable {
public:
    AliasTable() = default;
    // `fallback` is what a request that names no model means ("" for none).
    AliasTable(std::vector<Alias> aliases, std::string fallback);

    // The alias called exactly `name`, or nullptr.
    const Alias* find(const std::string& name) const;
    const std::vector<Alias>& all() const { return _aliases; }
    // The model or alias used for a request without a model; "" when unset.
    const std::string& fallback() const { return _fallback; }

private:
    std::vector<Alias> _aliases;  // in name order
    std::string _fallback;
};

} // namespace sluice
