#pragma once
// Which class of client error a backend's 4xx answer is, for an alias that
// moves such a request on to its next entry (aliases.NAME.fallback_on):
// "the prompt is longer than this model's context" and "the provider's
// content policy refused it". Read from the error's code or type where the
// provider sets one (OpenAI, Azure, vLLM), else from its message (Ollama,
// Anthropic, llama.cpp), since no standard names these.

#include <optional>
#include <string>

#include "sluice/Aliases.h"

namespace sluice::kernel {

// The class of a 4xx answer `body` (the backend's error JSON), if any.
std::optional<FallbackOn> declinedClassOf(int status, const std::string& body);

} // namespace sluice::kernel
