#include "AnswerJson.h"

#include "sluice/Json.h"
#include "Usage.h"

namespace sluice::kernel {

AnswerJson::AnswerJson(std::string bytes)
    : _bytes(std::move(bytes)),
      // What readUsage reads: the counts at the top (Ollama's), a usage
      // object, or one inside the two wrappers (Anthropic's message, the
      // Responses API's response).
      _countFields(parseJsonFields(_bytes, {"prompt_eval_count", "eval_count", "usage", "message", "response"})),
      _valid(!_countFields.is_discarded()) {}

const nlohmann::json& AnswerJson::tree() {
    if (!_tree) _tree = parseJson(_bytes);
    return *_tree;
}

Usage AnswerJson::usage() const {
    Usage usage;
    readUsage(_countFields, usage);
    return usage;
}

} // namespace sluice::kernel
