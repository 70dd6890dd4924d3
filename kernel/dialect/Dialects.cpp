#include "Dialects.h"

#include "MessagesViaChat.h"
#include "OllamaViaOpenAi.h"
#include "PassThrough.h"
#include "ResponsesViaChat.h"

namespace sluice::kernel {

const Dialect* dialectFor(const Route& route, const Backend& backend) {
    static const PassThrough ollamaPassThrough(Protocol::Ollama);
    static const PassThrough openAiPassThrough(Protocol::OpenAI);
    static const PassThrough messagesPassThrough(Protocol::Anthropic);
    static const PassThrough responsesPassThrough(Protocol::OpenAIResponses);
    static const OllamaViaOpenAi ollamaViaOpenAi;
    static const MessagesViaChat messagesViaChat;
    static const ResponsesViaChat responsesViaChat;

    switch (route.protocol) {
    // An Ollama backend serves its own API and OpenAI's (/v1/); an
    // OpenAI-compatible one only OpenAI's; Anthropic's only Messages.
    case Protocol::Ollama:
        if (backend.kind == BackendKind::Ollama) return &ollamaPassThrough;
        if (backend.kind == BackendKind::OpenAI && OllamaViaOpenAi::serves(route.kind)) return &ollamaViaOpenAi;
        return nullptr;
    case Protocol::OpenAI: return backend.kind == BackendKind::Anthropic ? nullptr : &openAiPassThrough;
    // The agents' APIs pass through to a backend that serves them
    // (native_apis) and are translated to Chat Completions for one that does not.
    case Protocol::Anthropic:
        if (backend.speaks(NativeApi::AnthropicMessages)) return &messagesPassThrough;
        return backend.kind == BackendKind::Anthropic ? nullptr : &messagesViaChat;
    case Protocol::OpenAIResponses:
        if (backend.speaks(NativeApi::OpenAIResponses)) return &responsesPassThrough;
        return backend.kind == BackendKind::Anthropic ? nullptr : &responsesViaChat;
    case Protocol::Sluice: break;
    }
    return nullptr;
}

} // namespace sluice::kernel
