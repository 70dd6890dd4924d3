#pragma once
// The dialect for an OpenAI Responses client (Codex, the openai SDK's
// responses API, @ai-sdk/openai) in front of a backend that serves only
// Chat Completions. The request is translated, and the answer comes back as
// a Response object or the Responses event stream (docs/responses-api.md).
// Sluice stores no responses: a request that continues one by
// previous_response_id is answered 400 here, as no chat backend holds it
// (the front refuses it first unless the alias passes it on).

#include "ViaChatCompletions.h"

namespace sluice::kernel {

class ResponsesViaChat final : public ViaChatCompletions {
public:
    ResponsesViaChat() : ViaChatCompletions(Protocol::OpenAIResponses) {}

protected:
    std::optional<std::string> untranslatable(const DialectCall& call) const override;
    nlohmann::json chatRequest(const DialectCall& call) const override;
    std::optional<std::string> wholeAnswer(const DialectCall& call, const nlohmann::json& completion) const override;
    std::unique_ptr<StreamFilter> streamFilter(const DialectCall& call) const override;
};

// The message a request that continues a stored response is refused with.
extern const char* const kStatelessMessage;

} // namespace sluice::kernel
