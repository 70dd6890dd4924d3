#include "TraceContext.h"

#include <algorithm>
#include <string_view>

namespace sluice::kernel {

namespace {
bool lowerHex(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
bool allZero(std::string_view text) { return text.find_first_not_of('0') == std::string_view::npos; }

// 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>. A later version may
// append fields after a dash; version ff is forbidden.
bool validTraceparent(std::string_view value) {
    if (value.size() < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') return false;
    const auto version = value.substr(0, 2), traceId = value.substr(3, 32), parentId = value.substr(36, 16),
               flags = value.substr(53, 2);
    if (!lowerHex(version) || version == "ff" || !lowerHex(traceId) || !lowerHex(parentId) || !lowerHex(flags)) return false;
    if (allZero(traceId) || allZero(parentId)) return false;
    if (version == "00") return value.size() == 55;
    // A later version's own fields: printable, and not without end.
    const auto tail = value.substr(55);
    return tail.empty() || (tail.front() == '-' && tail.size() <= 256 &&
                            std::all_of(tail.begin(), tail.end(), [](char c) { return c > 0x20 && c < 0x7f; }));
}

bool validTracestate(std::string_view value) {
    return !value.empty() && value.size() <= 512 &&
           std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

const std::string* find(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view name) {
    for (const auto& [key, value] : headers)
        if (key == name) return &value;
    return nullptr;
}
} // namespace

std::vector<std::pair<std::string, std::string>> traceHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
    std::vector<std::pair<std::string, std::string>> out;
    const auto* parent = find(headers, "traceparent");
    if (!parent || !validTraceparent(*parent)) return out;
    out.emplace_back("traceparent", *parent);
    if (const auto* state = find(headers, "tracestate"); state && validTracestate(*state)) out.emplace_back("tracestate", *state);
    return out;
}

} // namespace sluice::kernel
