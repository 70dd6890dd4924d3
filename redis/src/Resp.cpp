#include "Resp.h"

#include <algorithm>
#include <charconv>

#include "sluice/redis/RedisError.h"

namespace sluice::redis::detail {

namespace {

// Limits that turn a corrupt or hostile stream into an error instead of
// unbounded memory or recursion. Redis itself caps strings at 512 MB.
constexpr std::size_t maxHeaderLine = 64 * 1024;
constexpr long long maxBulkLength = 512LL * 1024 * 1024;
constexpr int maxDepth = 64;

[[noreturn]] void malformed(const std::string& what) {
    throw RedisError(RedisError::Kind::Protocol, "malformed reply from Redis: " + what);
}

std::optional<std::string_view> readLine(std::string_view data, std::size_t& pos) {
    const auto end = data.find("\r\n", pos);
    if (end == std::string_view::npos) {
        if (data.size() - pos > maxHeaderLine) malformed("line longer than 64 KiB");
        return std::nullopt;
    }
    const auto line = data.substr(pos, end - pos);
    pos = end + 2;
    return line;
}

long long toInteger(std::string_view text) {
    long long value = 0;
    const auto* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || stop != end) malformed("bad number");
    return value;
}

// Two passes share this code: `build` false only checks that a whole reply is
// there (cheap, so a large reply arriving in many pieces is not copied again
// and again), `build` true makes the Reply.
std::optional<Reply> parse(std::string_view data, std::size_t& pos, int depth, bool build) {
    if (depth > maxDepth) malformed("arrays nested too deep");
    if (pos >= data.size()) return std::nullopt;
    std::size_t next = pos;
    const char marker = data[next++];
    const auto header = readLine(data, next);
    if (!header) return std::nullopt;
    switch (marker) {
    case '+':
        pos = next;
        return build ? Reply::fromString(std::string(*header)) : Reply();
    case '-':
        pos = next;
        return build ? Reply::fromError(std::string(*header)) : Reply();
    case ':': {
        const auto value = toInteger(*header);
        pos = next;
        return Reply::fromInteger(value);
    }
    case '$': {
        const auto length = toInteger(*header);
        if (length == -1) {
            pos = next;
            return Reply::nil();
        }
        if (length < 0 || length > maxBulkLength) malformed("bad string length");
        const auto size = static_cast<std::size_t>(length);
        if (data.size() - next < size + 2) return std::nullopt;
        if (data[next + size] != '\r' || data[next + size + 1] != '\n') malformed("string not followed by CRLF");
        pos = next + size + 2;
        return build ? Reply::fromString(std::string(data.substr(next, size))) : Reply();
    }
    case '*': {
        const auto count = toInteger(*header);
        if (count == -1) {
            pos = next;
            return Reply::nil();
        }
        if (count < 0) malformed("bad array length");
        std::vector<Reply> elements;
        if (build) elements.reserve(static_cast<std::size_t>(std::min(count, 1024LL)));
        for (long long i = 0; i < count; ++i) {
            auto element = parse(data, next, depth + 1, build);
            if (!element) return std::nullopt;
            if (build) elements.push_back(std::move(*element));
        }
        pos = next;
        return build ? Reply::fromArray(std::move(elements)) : Reply();
    }
    default:
        malformed("unexpected type byte");
    }
}

} // namespace

std::string encodeCommand(const std::vector<std::string>& args) {
    std::string out = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& arg : args) {
        out += "$" + std::to_string(arg.size()) + "\r\n";
        out += arg;
        out += "\r\n";
    }
    return out;
}

std::optional<Reply> parseReply(std::string_view data, std::size_t& pos) {
    std::size_t probe = pos;
    if (!parse(data, probe, 0, false)) return std::nullopt;
    return parse(data, pos, 0, true);
}

} // namespace sluice::redis::detail
