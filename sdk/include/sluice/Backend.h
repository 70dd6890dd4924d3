#pragma once
// One configured upstream (an Ollama server or an OpenAI-compatible provider),
// as validated from `backends.NAME.*` at start-up. Immutable once built.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sluice/Abi.h"
#include "sluice/Secret.h"

namespace sluice {

enum class BackendKind { Ollama, OpenAI, Anthropic };

// How a candidate that failed before its first byte with a passing failure
// (429, 500, 502, 503, a reset before any answer byte) is tried again before
// the request moves on (docs/routing.md, "Retries"). From `retry.*`,
// `backends.NAME.retry.*`; an alias may override each field.
struct RetryPolicy {
    int attempts = 1;                            // tries after the first; 0: never retried
    std::chrono::milliseconds backoff{250};      // doubled per retry, with jitter
    std::chrono::milliseconds maxWait{5000};     // a longer Retry-After fails over at once
};

// The model APIs a backend serves natively besides its kind's own: a dialect
// passes a request through when the backend speaks its API and translates it
// to Chat Completions when not (docs/backends.md, "Native APIs").
enum class NativeApi : unsigned { AnthropicMessages = 1u << 0, OpenAIResponses = 1u << 1 };

struct SLUICE_API Backend {
    std::string name;
    std::size_t priority = 0;  // position in `backends`, 0 first
    BackendKind kind = BackendKind::Ollama;

    // Parsed from `url`. For kind openai the URL's path is the API base
    // (for example "/v1" or "/api/v1"); the route's part after "/v1" is appended.
    std::string url;  // as configured, for operators' eyes only: never sent to clients
    std::string scheme;  // "http" or "https"
    std::string host;
    std::uint16_t port = 0;
    std::string basePath;  // without trailing slash, "" for the root

    // Credential attached to every upstream request; never logged.
    std::string authHeader = "Authorization";
    std::string authScheme = "Bearer";  // used only when authHeader is Authorization
    Secret authToken;

    // TLS for https URLs: the system's CAs are always trusted; tlsCaFile adds
    // a private CA (file or folder of PEM). tlsVerify=false turns checking off.
    std::string tlsCaFile;
    bool tlsVerify = true;

    // NativeApi bits. Default by kind: ollama both (Ollama serves /v1/messages
    // since 0.14 and /v1/responses since 0.13), openai none, anthropic Messages.
    unsigned nativeApis = 0;
    bool speaks(NativeApi api) const { return (nativeApis & static_cast<unsigned>(api)) != 0; }

    int weight = 1;
    int maxConnections = 64;  // idle keep-alive connections kept per backend
    std::chrono::milliseconds connectTimeout{5000};
    // The wait for the first answer byte: short when the model is loaded
    // (or the backend does not say, as an OpenAI-compatible one), long when
    // Ollama's /api/ps says it must be loaded first, and for a whole answer,
    // whose first byte comes only when the answer is done (docs/routing.md).
    std::chrono::milliseconds firstByteTimeout{60000};
    std::chrono::milliseconds coldLoadTimeout{300000};
    std::chrono::milliseconds idleTimeout{30000};  // between chunks once streaming
    RetryPolicy retry;

    // Whether the backend continues an answer from an assistant prefill (the
    // conversation ending in the partial answer): needed to continue a broken
    // stream on it. `accepts_prefill`: all (Ollama's default), none, or a list.
    bool prefillAll = false;
    std::vector<std::string> prefillModels;
    bool acceptsPrefill(const std::string& model) const;

    // The value of the auth header, or "" when no token is configured.
    std::string authHeaderValue() const;
    // Where the backend lists its models, after basePath: /api/tags (Ollama),
    // /models (an OpenAI-compatible API base), /v1/models (Anthropic).
    std::string modelListPath() const;
    // Headers its own API requires on every request, besides the credential
    // (Anthropic's anthropic-version).
    std::vector<std::pair<std::string, std::string>> apiHeaders() const;
};

// "ollama", "openai" or "anthropic", as `backends.NAME.kind` spells it.
SLUICE_API const char* backendKindName(BackendKind kind);

// The API version Sluice speaks to Anthropic's API when the client named none.
inline constexpr const char* kAnthropicVersion = "2023-06-01";

// All backends in priority order. Shared read-only between the kernel and stages.
using BackendList = std::vector<std::shared_ptr<const Backend>>;

} // namespace sluice
