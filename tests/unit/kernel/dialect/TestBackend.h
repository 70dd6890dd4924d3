#pragma once
// The backend a dialect test talks to: an Ollama server ("gpu") or an
// OpenAI-compatible provider ("provider", its API base at /v1).

#include "sluice/Backend.h"

namespace sluice::test {

inline Backend backendOf(BackendKind kind) {
    Backend backend;
    backend.name = kind == BackendKind::OpenAI ? "provider" : "gpu";
    backend.kind = kind;
    backend.basePath = kind == BackendKind::OpenAI ? "/v1" : "";
    return backend;
}

} // namespace sluice::test
