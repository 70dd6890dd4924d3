#include "MessagesViaChat.h"

#include "translate/AnthropicOpenAi.h"
#include "translate/MessagesStreamTranslator.h"

namespace sluice::kernel {

std::optional<std::string> MessagesViaChat::untranslatable(const DialectCall& call) const {
    return messagesRequestProblem(call.ctx.body, RequestCheck::Translation);
}

nlohmann::json MessagesViaChat::chatRequest(const DialectCall& call) const {
    return chatRequestForMessages(call.ctx.body, call.servedModel, call.ctx.stream);
}

std::optional<std::string> MessagesViaChat::wholeAnswer(const DialectCall& call, const nlohmann::json& completion) const {
    return messagesAnswerFor(completion, reportedModel(call));
}

std::unique_ptr<StreamFilter> MessagesViaChat::streamFilter(const DialectCall& call) const {
    return std::make_unique<MessagesStreamTranslator>(reportedModel(call));
}

} // namespace sluice::kernel
