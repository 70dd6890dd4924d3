#pragma once
// RESP2, the Redis wire format: commands out, replies in. Internal.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/redis/Reply.h"

namespace sluice::redis::detail {

// A command as an array of bulk strings, safe for any bytes in the arguments.
std::string encodeCommand(const std::vector<std::string>& args);

// Reads one whole reply from data[pos...] and moves pos past it; nullopt
// (pos unchanged) when the data ends first. Throws RedisError(Protocol) on
// bytes that cannot be a reply.
std::optional<Reply> parseReply(std::string_view data, std::size_t& pos);

} // namespace sluice::redis::detail
