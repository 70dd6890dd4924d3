#include "ResponsesViaChat.h"

#include "translate/ResponsesOpenAi.h"
#include "translate/ResponsesStreamTranslator.h"

namespace sluice::kernel {

const char* const kStatelessMessage =
    "previous_response_id is not supported: Sluice stores no responses; send the whole conversation in input";

std::optional<std::string> ResponsesViaChat::untranslatable(const DialectCall& call) const {
    if (continuesPreviousResponse(call.ctx.body)) return std::string(kStatelessMessage);
    return responsesRequestProblem(call.ctx.body, RequestCheck::Translation);
}

nlohmann::json ResponsesViaChat::chatRequest(const DialectCall& call) const {
    return chatRequestForResponses(call.ctx.body, call.servedModel, call.ctx.stream);
}

std::optional<std::string> ResponsesViaChat::wholeAnswer(const DialectCall& call, const nlohmann::json& completion) const {
    return responsesAnswerFor(completion, call.ctx.body, reportedModel(call));
}

std::unique_ptr<StreamFilter> ResponsesViaChat::streamFilter(const DialectCall& call) const {
    return std::make_unique<ResponsesStreamTranslator>(call.ctx.body, reportedModel(call));
}

} // namespace sluice::kernel
