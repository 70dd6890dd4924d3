#include "Usage.h"

namespace sluice::kernel {

void readUsage(const nlohmann::json& answer, Usage& usage) {
    if (!answer.is_object()) return;
    auto count = [](const nlohmann::json& object, const char* key) -> std::uint64_t {
        auto it = object.find(key);
        return it != object.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
    };
    if (answer.contains("prompt_eval_count") || answer.contains("eval_count")) {
        usage.promptTokens = count(answer, "prompt_eval_count");
        usage.completionTokens = count(answer, "eval_count");
        usage.reported = true;
    } else if (auto it = answer.find("usage"); it != answer.end() && it->is_object()) {
        usage.promptTokens = count(*it, "prompt_tokens");
        usage.completionTokens = count(*it, "completion_tokens");
        usage.reported = true;
    }
}

} // namespace sluice::kernel
