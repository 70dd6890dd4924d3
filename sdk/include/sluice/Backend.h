#pragma once
// One configured upstream (an Ollama server or an OpenAI-compatible provider),
// as validated from `backends.NAME.*` at start-up. Immutable once built.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/Abi.h"
#include "sluice/Secret.h"

namespace sluice {

enum class BackendKind { Ollama, OpenAI };

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

    int weight = 1;
    int maxConnections = 64;  // idle keep-alive connections kept per backend
    std::chrono::milliseconds connectTimeout{5000};
    std::chrono::milliseconds firstByteTimeout{300000};  // long: a model may be loading
    std::chrono::milliseconds idleTimeout{30000};        // between chunks once streaming

    // The value of the auth header, or "" when no token is configured.
    std::string authHeaderValue() const;
};

// All backends in priority order. Shared read-only between the kernel and stages.
using BackendList = std::vector<std::shared_ptr<const Backend>>;

} // namespace sluice
