#include "Answers.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <cmath>
#include <sstream>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timespan.h>
#include <Poco/Timestamp.h>

namespace sluice::fake {

namespace {

std::vector<std::string> splitWords(const std::string& text) {
    std::vector<std::string> words;
    std::istringstream in(text);
    std::string word;
    while (in >> word) words.push_back(word);
    return words;
}

std::string openAiErrorType(int status) {
    switch (status) {
    case 403: return "permission_error";
    case 429: return "requests";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

std::string openAiErrorCode(int status) {
    switch (status) {
    case 401: return "invalid_api_key";
    case 404: return "model_not_found";
    case 429: return "rate_limit_exceeded";
    default: return {};
    }
}

std::string anthropicErrorType(int status) {
    switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503:
    case 529: return "overloaded_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

bool continuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

std::atomic<long long> nextId{1};

}  // namespace

std::vector<std::string> answerPieces(const std::string& backendName, int chunks, int skipWords) {
    std::vector<std::string> pieces;
    if (chunks <= 0) return pieces;
    const auto sentence = splitWords("Hello from " + backendName + ". This is a streamed answer.");
    std::vector<std::string> words = sentence;
    while (words.size() < static_cast<std::size_t>(chunks))
        words.insert(words.end(), sentence.begin(), sentence.end());
    const std::size_t n = words.size();
    const auto k = static_cast<std::size_t>(chunks);
    // The cut points of the uninterrupted answer stay where they are, so a
    // continuation sends the very pieces the first backend had yet to send.
    const auto skip = static_cast<std::size_t>(std::max(skipWords, 0));
    for (std::size_t i = 0; i < k; ++i) {
        std::string piece;
        for (std::size_t w = std::max(i * n / k, skip); w < (i + 1) * n / k; ++w) {
            if (w > 0) piece += ' ';
            piece += words[w];
        }
        if (!piece.empty()) pieces.push_back(std::move(piece));
    }
    return pieces;
}

std::string joinPieces(const std::vector<std::string>& pieces) {
    std::string all;
    for (const auto& piece : pieces) all += piece;
    return all;
}

std::vector<std::string> splitText(const std::string& text, int pieces) {
    std::vector<std::size_t> starts;  // the byte offset of every code point
    for (std::size_t i = 0; i < text.size(); ++i)
        if (!continuationByte(text[i])) starts.push_back(i);
    const std::size_t n = starts.size();
    const std::size_t k = pieces <= 0 ? 0 : std::min(n, static_cast<std::size_t>(pieces));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < k; ++i) {
        const std::size_t from = starts[i * n / k];
        const std::size_t to = (i + 1) * n / k < n ? starts[(i + 1) * n / k] : text.size();
        out.push_back(text.substr(from, to - from));
    }
    return out;
}

int countWords(const std::string& text) { return static_cast<int>(splitWords(text).size()); }

int countMessageWords(const nlohmann::json& messages) {
    if (!messages.is_array()) return 0;
    int words = 0;
    for (const auto& message : messages) {
        if (!message.is_object() || !message.contains("content")) continue;
        const auto& content = message["content"];
        if (content.is_string()) {
            words += countWords(content.get<std::string>());
        } else if (content.is_array()) {
            for (const auto& part : content)
                if (part.is_object() && part.contains("text") && part["text"].is_string())
                    words += countWords(part["text"].get<std::string>());
        }
    }
    return words;
}

std::optional<int> prefillWords(const nlohmann::json& messages) {
    if (!messages.is_array() || messages.empty()) return std::nullopt;
    const auto& last = messages.back();
    if (!last.is_object() || !last.contains("role") || last["role"] != "assistant") return std::nullopt;
    // An assistant turn that calls tools is history, not text to continue.
    if (last.contains("tool_calls") && last["tool_calls"].is_array() && !last["tool_calls"].empty())
        return std::nullopt;
    const auto& content = last.contains("content") ? last["content"] : nlohmann::json();
    if (content.is_string()) return countWords(content.get<std::string>());
    if (!content.is_array()) return std::nullopt;
    int words = 0;
    for (const auto& part : content)
        if (part.is_object() && part.contains("type") && part["type"] == "text" && part.contains("text") &&
            part["text"].is_string())
            words += countWords(part["text"].get<std::string>());
    return words;
}

int countInputWords(const nlohmann::json& input) {
    if (input.is_string()) return countWords(input.get<std::string>());
    int words = 0;
    if (input.is_array())
        for (const auto& item : input) words += item.is_string() ? countWords(item.get<std::string>()) : 1;
    return words;
}

std::string newId(const std::string& prefix) { return prefix + std::to_string(nextId.fetch_add(1)); }

std::string sseEvent(const nlohmann::json& data) { return "data: " + data.dump() + "\n\n"; }

std::string sseEvent(const std::string& name, const nlohmann::json& data) {
    return "event: " + name + "\n" + sseEvent(data);
}

std::uint64_t fnv1a(const std::string& text, std::uint64_t seed) {
    std::uint64_t hash = 14695981039346656037ULL ^ (seed * 1099511628211ULL);
    for (unsigned char c : text) {
        hash ^= c;
        hash *= 1099511628211ULL;
    }
    return hash;
}

std::vector<float> embeddingOf(const std::string& text) {
    std::vector<double> raw(embeddingDimension);
    double norm = 0;
    for (int i = 0; i < embeddingDimension; ++i) {
        const auto hash = fnv1a(text, static_cast<std::uint64_t>(i) + 1);
        raw[static_cast<std::size_t>(i)] = static_cast<double>(hash % 20001) / 10000.0 - 1.0;
        norm += raw[static_cast<std::size_t>(i)] * raw[static_cast<std::size_t>(i)];
    }
    norm = norm > 0 ? std::sqrt(norm) : 1.0;
    std::vector<float> vector;
    for (double value : raw) vector.push_back(static_cast<float>(value / norm));
    return vector;
}

std::string base64OfFloats(const std::vector<float>& values) {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::vector<unsigned char> bytes;
    for (float value : values) {
        const auto bits = std::bit_cast<std::uint32_t>(value);
        for (int shift = 0; shift < 32; shift += 8) bytes.push_back(static_cast<unsigned char>(bits >> shift));
    }
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::size_t left = bytes.size() - i;
        std::uint32_t group = static_cast<std::uint32_t>(bytes[i]) << 16;
        if (left > 1) group |= static_cast<std::uint32_t>(bytes[i + 1]) << 8;
        if (left > 2) group |= bytes[i + 2];
        out += alphabet[(group >> 18) & 63];
        out += alphabet[(group >> 12) & 63];
        out += left > 1 ? alphabet[(group >> 6) & 63] : '=';
        out += left > 2 ? alphabet[group & 63] : '=';
    }
    return out;
}

std::string rfc3339Now(long long offsetSeconds) {
    Poco::Timestamp when;
    when += Poco::Timespan(offsetSeconds, 0);
    return Poco::DateTimeFormatter::format(when, Poco::DateTimeFormat::ISO8601_FRAC_FORMAT);
}

long long unixNow() { return static_cast<long long>(Poco::Timestamp().epochTime()); }

nlohmann::json errorBody(Protocol protocol, int status, const std::string& message,
                         const std::string& code, const std::string& param) {
    if (protocol == Protocol::Ollama) return {{"error", message}};
    if (protocol == Protocol::Anthropic)
        return {{"type", "error"},
                {"error", {{"type", anthropicErrorType(status)}, {"message", message}}},
                {"request_id", newId("req_fake")}};
    const std::string chosen = code.empty() ? openAiErrorCode(status) : code;
    return {{"error",
             {{"message", message},
              {"type", openAiErrorType(status)},
              {"param", param.empty() ? nlohmann::json() : nlohmann::json(param)},
              {"code", chosen.empty() ? nlohmann::json() : nlohmann::json(chosen)}}}};
}

}  // namespace sluice::fake
