// libFuzzer target for the RESP2 reply parser, which reads whatever the
// Redis connection delivers (a pipeline of replies, possibly cut anywhere).
//
// Invariants: a reply is parsed or the data ends first (position unchanged)
// or RedisError(Protocol) is thrown, nothing else; a reply moves the
// position forward and within the data; no shorter prefix of a reply is a
// reply; arrays nest at most as deep as the parser's bound; a reply encoded
// again parses to an equal reply; a command encoded by encodeCommand parses
// back to its arguments.
//
// Input layout: bytes 0-1 seed where prefixes are cut and how the input is
// split into command arguments; the rest is what Redis sent.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "FuzzSupport.h"
#include "Resp.h"
#include "sluice/redis/RedisError.h"
#include "sluice/redis/Reply.h"

namespace {

using sluice::fuzz::check;
using sluice::fuzz::PieceSizes;
using sluice::fuzz::violated;
using sluice::redis::RedisError;
using sluice::redis::Reply;
using sluice::redis::detail::encodeCommand;
using sluice::redis::detail::parseReply;

constexpr std::size_t kHeaderBytes = 2;
constexpr std::size_t kMaxLine = 64 * 1024;  // Resp.cpp's bound on a line still missing its CRLF
constexpr int kMaxNesting = 65;              // Resp.cpp's maxDepth (64) counts from 0

int nesting(const Reply& reply) {
    if (!reply.isArray()) return 0;
    int deepest = 0;
    for (const auto& element : reply.array()) deepest = std::max(deepest, nesting(element));
    return deepest + 1;
}

// The reply as Redis would send it; strings go as bulk strings, which can hold any byte.
void encode(const Reply& reply, std::string& out) {
    switch (reply.type()) {
    case Reply::Type::Nil: out += "$-1\r\n"; break;
    case Reply::Type::Integer: out += ":" + std::to_string(reply.integer()) + "\r\n"; break;
    case Reply::Type::String: out += "$" + std::to_string(reply.string().size()) + "\r\n" + reply.string() + "\r\n"; break;
    case Reply::Type::Error: out += "-" + reply.error() + "\r\n"; break;
    case Reply::Type::Array:
        out += "*" + std::to_string(reply.array().size()) + "\r\n";
        for (const auto& element : reply.array()) encode(element, out);
        break;
    }
}

bool equal(const Reply& a, const Reply& b) {
    if (a.type() != b.type()) return false;
    switch (a.type()) {
    case Reply::Type::Nil: return true;
    case Reply::Type::Integer: return a.integer() == b.integer();
    case Reply::Type::String: return a.string() == b.string();
    case Reply::Type::Error: return a.error() == b.error();
    case Reply::Type::Array:
        if (a.array().size() != b.array().size()) return false;
        for (std::size_t i = 0; i < a.array().size(); ++i)
            if (!equal(a.array()[i], b.array()[i])) return false;
        return true;
    }
    return false;
}

// parseReply with its contract checked: the reply, nullopt when the data
// ends first, or nullopt after a protocol error (then `refused` is set).
std::optional<Reply> parseChecked(std::string_view data, std::size_t& pos, bool* refused = nullptr) {
    const auto before = pos;
    try {
        auto reply = parseReply(data, pos);
        if (!reply) {
            check(pos == before, "an unfinished reply leaves the position");
            return std::nullopt;
        }
        check(pos > before && pos <= data.size(), "a reply moves the position forward within the data");
        check(nesting(*reply) <= kMaxNesting, "arrays nest no deeper than the bound");
        return reply;
    } catch (const RedisError& error) {
        check(error.kind() == RedisError::Kind::Protocol, "bad bytes are a protocol error");
        if (refused) *refused = true;
        return std::nullopt;
    } catch (const std::exception& error) {
        violated("only RedisError leaves parseReply", error.what());
    }
}

void checkReencoded(const Reply& reply) {
    std::string encoded;
    encode(reply, encoded);
    std::size_t pos = 0;
    bool refused = false;
    const auto again = parseChecked(encoded, pos, &refused);
    check(again.has_value(), "a reply encoded again parses");
    check(pos == encoded.size(), "a reply encoded again is read to its end");
    check(equal(reply, *again), "a reply encoded again parses to an equal reply");
}

void checkCommand(std::string_view input, PieceSizes& sizes) {
    std::vector<std::string> args;
    for (std::size_t at = 0; at < input.size() && args.size() < 8;) {
        const auto size = sizes.next(input.size() - at);
        args.emplace_back(input.substr(at, size));
        at += size;
    }
    const auto command = encodeCommand(args);
    std::size_t pos = 0;
    const auto parsed = parseChecked(command, pos);
    check(parsed && parsed->isArray() && pos == command.size(), "an encoded command is one array reply");
    check(parsed->array().size() == args.size(), "an encoded command has its arguments");
    for (std::size_t i = 0; i < args.size(); ++i)
        check(parsed->array()[i].isString() && parsed->array()[i].string() == args[i], "an encoded argument parses back");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < kHeaderBytes) return 0;
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    const auto input = all.substr(kHeaderBytes);
    PieceSizes sizes(sluice::fuzz::seedFrom(all, kHeaderBytes));

    // A pipeline: replies back to back until the data ends or goes bad.
    std::size_t pos = 0;
    bool first = true;
    while (pos < input.size()) {
        const auto start = pos;
        const auto reply = parseChecked(input, pos);
        if (!reply) break;
        checkReencoded(*reply);
        if (first) {
            // Replies arrive in pieces: a cut reply waits for the rest.
            const auto cut = input.substr(start, sizes.below(pos - start));
            std::size_t at = 0;
            bool refused = false;
            check(!parseChecked(cut, at, &refused), "no prefix of a reply is a reply");
            check(!refused || cut.size() > kMaxLine, "a prefix of a reply is only refused for a line past the bound");
            first = false;
        }
    }
    checkCommand(input, sizes);
    return 0;
}
