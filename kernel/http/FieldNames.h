#pragma once
// Whether two header field names (or tokens such as "chunked") are the same
// name: HTTP's are case-insensitive, in ASCII. The length first, so names
// that differ in it (most) cost one compare, and no copy is made.

#include <string_view>

namespace sluice::kernel {

inline bool sameFieldName(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

} // namespace sluice::kernel
