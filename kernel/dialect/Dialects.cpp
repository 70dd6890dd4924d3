#include "Dialects.h"

#include "OllamaViaOpenAi.h"
#include "PassThrough.h"

namespace sluice::kernel {

const Dialect* dialectFor(const Route& route, const Backend& backend) {
    static const PassThrough ollamaPassThrough(Protocol::Ollama);
    static const PassThrough openAiPassThrough(Protocol::OpenAI);
    static const OllamaViaOpenAi ollamaViaOpenAi;

    // An Ollama backend serves its own API and OpenAI's (/v1/); an
    // OpenAI-compatible one only OpenAI's.
    if (route.protocol == Protocol::Ollama && backend.kind == BackendKind::OpenAI)
        return OllamaViaOpenAi::serves(route.kind) ? &ollamaViaOpenAi : nullptr;
    return route.protocol == Protocol::OpenAI ? &openAiPassThrough : &ollamaPassThrough;
}

} // namespace sluice::kernel
