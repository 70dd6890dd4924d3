#pragma once
// Token counts where no backend reports them: before an answer (a limits
// stage reserving at admission) and after a stream that carried no usage.
//
// The estimate is one token per four characters of text (Unicode code
// points, not bytes), rounded up, as OpenAI's own rule of thumb for English:
// tokenizers differ by model, so an exact count needs the model's own
// tokenizer, which a gateway does not have. It counts only the text a model
// reads or writes (message contents, prompt, input, system), not the JSON
// around it.

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "Abi.h"

namespace sluice {

// Tokens in `text` by the rule above; 0 for no text.
SLUICE_API std::uint64_t estimateTokens(std::string_view text);

// The same rule for text counted piece by piece: its code points first
// (UTF-8 lead bytes), then the tokens for their sum.
SLUICE_API std::uint64_t codePoints(std::string_view text);
inline std::uint64_t tokensForCodePoints(std::uint64_t count) { return (count + 3) / 4; }

// Tokens in a request's prompt: every string under messages[].content (a
// string, or an array of parts with "text"), prompt, input, system and suffix,
// in either protocol's shape.
SLUICE_API std::uint64_t estimatePromptTokens(const nlohmann::json& body);

} // namespace sluice
