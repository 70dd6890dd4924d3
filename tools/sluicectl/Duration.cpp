#include "Duration.h"

#include <cctype>
#include <limits>
#include <stdexcept>

namespace sluicectl {

std::chrono::seconds parseDuration(const std::string& text) {
    const auto bad = [&](const std::string& why) {
        return std::invalid_argument("'" + text + "' is not a duration (" + why + ")");
    };
    if (text.size() < 2) throw bad("a number and a unit, like 30s, 15m, 1h or 7d");
    long long unit = 0;
    switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: throw bad("the unit is one of s, m, h, d");
    }
    long long value = 0;
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        if (std::isdigit(static_cast<unsigned char>(text[i])) == 0) throw bad("a whole number before the unit");
        value = value * 10 + (text[i] - '0');
        // Past a hundred years it is a typo, and well before long long overflows.
        if (value > 36500LL * 86400 / unit) throw bad("too long");
    }
    if (value == 0) throw bad("must be more than 0");
    return std::chrono::seconds(value * unit);
}

} // namespace sluicectl
