#pragma once
// Durations as an operator types them for --since: a whole number and a
// unit, s, m, h or d ("30s", "15m", "1h", "7d").

#include <chrono>
#include <string>

namespace sluicectl {

// Throws std::invalid_argument saying what is wrong.
std::chrono::seconds parseDuration(const std::string& text);

} // namespace sluicectl
