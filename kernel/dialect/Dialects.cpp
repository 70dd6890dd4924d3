#include "Dialects.h"

#include "OllamaViaOpenAi.h"
#include "PassThrough.h"

namespace sluice::kernel {

const Dialect* dialectFor(const Route& route, const Backend& backend) {
    static const PassThrough ollamaPassThrough(Protocol::Ollama);
    static const PassThrough openAiPassThrough(Protocol::OpenAI);
    static const PassThrough messagesPassThrough(Protocol::Anthropic);
    static const PassThrough responsesPassThrough(Protocol::OpenAIResponses);
    static const OllamaViaOpenAi ollamaViaOpenAi;

    switch (route.protocol) {
    // An Ollama backend serves its own API and OpenAI's (/v1/); an
    // OpenAI-compatible one only OpenAI's; Anthropic's only Messages.
    case Protocol::Ollama:
        if (backend.kind == BackendKind::Ollama) return &ollamaPassThrough;
        if (backend.kind == BackendKind::OpenAI && OllamaViaOpenAi::serves(route.kind)) return &ollamaViaOpenAi;
        return nullptr;
    case Protocol::OpenAI: return backend.kind == BackendKind::Anthropic ? nullptr : &openAiPassThrough;
    // The agents' APIs pass through to a backend that serves them (native_apis).
    case Protocol::Anthropic: return backend.speaks(NativeApi::AnthropicMessages) ? &messagesPassThrough : nullptr;
    case Protocol::OpenAIResponses: return backend.speaks(NativeApi::OpenAIResponses) ? &responsesPassThrough : nullptr;
    case Protocol::Sluice: break;
    }
    return nullptr;
}

} // namespace sluice::kernel
