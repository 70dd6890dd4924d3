#include "AnswerCapture.h"

#include <nlohmann/json.hpp>

#include "sluice/Json.h"

namespace sluice::kernel {

namespace {
void appendString(const nlohmann::json& object, const char* key, std::string& out) {
    if (!object.is_object() || !object.contains(key)) return;
    if (const auto* text = object.at(key).get_ptr<const std::string*>()) out += *text;
}

// The text parts of Anthropic's content or a Responses message item:
// {"type":"text"|"output_text","text":…}.
void appendTextParts(const nlohmann::json& parts, std::string& out) {
    if (!parts.is_array()) return;
    for (const auto& part : parts)
        if (part.is_object() && (part.value("type", "") == "text" || part.value("type", "") == "output_text"))
            appendString(part, "text", out);
}

// The agents' APIs: Anthropic's Message (content parts) and its stream's
// text deltas; a Response (output items) and its stream's output_text
// deltas. response.completed repeats the whole answer in "response": it is
// not read again.
void appendAgentContent(const nlohmann::json& answer, std::string& out) {
    if (const auto content = answer.find("content"); content != answer.end()) appendTextParts(*content, out);
    if (const auto output = answer.find("output"); output != answer.end() && output->is_array())
        for (const auto& item : *output)
            if (item.is_object() && item.value("type", "") == "message") appendTextParts(item.value("content", nlohmann::json()), out);
    const auto delta = answer.find("delta");
    if (delta == answer.end()) return;
    if (delta->is_object() && delta->value("type", "") == "text_delta") appendString(*delta, "text", out);
    if (delta->is_string() && answer.value("type", "") == "response.output_text.delta") out += delta->get_ref<const std::string&>();
}

// The content one answer object (whole, or one stream frame) carries.
void appendContent(const nlohmann::json& answer, std::string& out) {
    if (!answer.is_object()) return;
    appendAgentContent(answer, out);
    if (auto message = answer.find("message"); message != answer.end()) appendString(*message, "content", out);
    appendString(answer, "response", out);
    if (auto choices = answer.find("choices"); choices != answer.end() && choices->is_array()) {
        for (const auto& choice : *choices) {
            if (!choice.is_object()) continue;
            if (auto message = choice.find("message"); message != choice.end()) appendString(*message, "content", out);
            if (auto delta = choice.find("delta"); delta != choice.end()) appendString(*delta, "content", out);
            appendString(choice, "text", out);
        }
    }
}
} // namespace

std::string answerText(std::string_view delivered) {
    std::string text;
    const auto whole = parseJson(delivered);
    if (!whole.is_discarded()) {
        appendContent(whole, text);
        return text;
    }
    // A stream: one JSON object per NDJSON line or per SSE data line.
    std::size_t start = 0;
    while (start < delivered.size()) {
        auto end = delivered.find('\n', start);
        if (end == std::string_view::npos) break;  // the last frame was cut by the limit
        auto line = delivered.substr(start, end - start);
        start = end + 1;
        if (line.starts_with("data:")) line.remove_prefix(5);
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        if (line.empty() || line.front() != '{') continue;  // [DONE], event names, comments, blank lines
        appendContent(parseJson(line), text);
    }
    return text;
}

void cutUtf8(std::string& text, std::size_t limit) {
    if (text.size() <= limit) return;
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
}

} // namespace sluice::kernel
