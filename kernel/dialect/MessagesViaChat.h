#pragma once
// The dialect for an Anthropic Messages client (Claude Code,
// @anthropic-ai/sdk) in front of a backend that does not serve /v1/messages:
// an OpenAI-compatible provider, or an Ollama older than 0.14. The request
// becomes a Chat Completions request and the answer an Anthropic Message,
// or Anthropic's event stream (docs/anthropic-messages.md).

#include "ViaChatCompletions.h"

namespace sluice::kernel {

class MessagesViaChat final : public ViaChatCompletions {
public:
    MessagesViaChat() : ViaChatCompletions(Protocol::Anthropic) {}

protected:
    std::optional<std::string> untranslatable(const DialectCall& call) const override;
    nlohmann::json chatRequest(const DialectCall& call) const override;
    std::optional<std::string> wholeAnswer(const DialectCall& call, const nlohmann::json& completion) const override;
    std::unique_ptr<StreamFilter> streamFilter(const DialectCall& call) const override;
};

} // namespace sluice::kernel
