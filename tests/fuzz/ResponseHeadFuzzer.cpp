// libFuzzer target for what a backend sends back: parseResponseHead on the
// bytes as they are, and ResponseReader reading a whole answer (1xx heads,
// the head, the body by its framing) from a connection that delivers the
// bytes cut at fuzzer-chosen places.
//
// The connection is this file's own UpstreamConnection: the target links
// these definitions instead of UpstreamConnection.cpp, so ResponseReader
// runs unchanged on bytes from the input, with no socket.
//
// Invariants: an accepted head has a status in 100..599, header names that
// are lower-case tokens, and no CR, LF or NUL in a name or value (they would
// split the header the gateway writes to its client, RFC 9110 5.5); a head
// is found at its first blank line, and no shorter prefix is a head; the reader
// answers the same as parsing the whole bytes would, whatever the cuts; the
// body is exactly what the framing says; a connection called reusable has
// no byte past the answer; only UpstreamError leaves the reader.
//
// The body is read by readBody (waiting) or, when byte 0 bit 1 says so, by
// readBodyNow (the parked relay's way), over a connection that has nothing
// ready every other time: both must read the same body the same way.
//
// Input layout: byte 0 bit 0 makes it the answer to a HEAD request; bytes
// 1-2 seed where the bytes are cut; the rest is what the backend sent.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>

#include "FuzzSupport.h"
#include "http/ChunkedDecoder.h"
#include "upstream/ResponseReader.h"
#include "upstream/UpstreamError.h"

namespace {

using sluice::fuzz::check;
using sluice::fuzz::PieceSizes;
using sluice::fuzz::violated;
using sluice::kernel::ChunkedDecoder;
using sluice::kernel::parseResponseHead;
using sluice::kernel::ResponseHead;
using sluice::kernel::ResponseReader;
using sluice::kernel::UpstreamError;

constexpr std::size_t kHeaderBytes = 3;
constexpr std::size_t kMaxHead = 64 * 1024;  // ResponseReader.cpp's bound on an unfinished head

// What the backend sent, handed out in pieces.
struct Wire {
    std::string_view bytes;
    std::size_t delivered = 0;
    PieceSizes* sizes = nullptr;
    bool nothingReady = false;  // readNow's turn to say nothing is there yet
};
Wire wire;

} // namespace

namespace sluice::kernel {

UpstreamConnection::UpstreamConnection(std::unique_ptr<Poco::Net::StreamSocket> socket, bool secure)
    : idleSince(Clock::now()), _socket(std::move(socket)), _secure(secure) {}

UpstreamConnection::~UpstreamConnection() = default;

std::unique_ptr<UpstreamConnection> UpstreamConnection::open(const Backend&, const Poco::Net::Context::Ptr&, ClientChannel*) {
    return std::unique_ptr<UpstreamConnection>(new UpstreamConnection(nullptr, false));
}

std::size_t UpstreamConnection::readSome(char* buffer, std::size_t capacity, Clock::time_point, int, ClientChannel*) {
    const auto left = wire.bytes.size() - wire.delivered;
    const auto size = std::min(capacity, wire.sizes->next(left));
    std::copy_n(wire.bytes.data() + wire.delivered, size, buffer);
    wire.delivered += size;
    return size;
}

std::optional<std::size_t> UpstreamConnection::readNow(char* buffer, std::size_t capacity) {
    wire.nothingReady = !wire.nothingReady;
    if (wire.nothingReady) return std::nullopt;
    return readSome(buffer, capacity, Clock::now(), -1);
}

} // namespace sluice::kernel

namespace {

bool holdsLineBreakOrNul(std::string_view text) { return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }

// RFC 9110 5.6.2: what a header name may be made of.
bool isTokenChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && std::string_view("\"(),/:;<=>?@[\\]{}").find(c) == std::string_view::npos;
}

void checkHead(const ResponseHead& head) {
    check(head.status >= 100 && head.status <= 599, "an accepted status is in 100..599");
    for (const auto& [name, value] : head.headers) {
        check(!name.empty(), "no header name is empty");
        check(std::none_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; }), "header names are lower case");
        check(name.find(':') == std::string::npos, "a header name ends at its colon");
        check(!holdsLineBreakOrNul(name), "no header name holds CR, LF or NUL", name);
        check(std::all_of(name.begin(), name.end(), isTokenChar), "a header name is a token", name);
        check(!holdsLineBreakOrNul(value), "no header value holds CR, LF or NUL", value);
        check(value.empty() || (value.front() != ' ' && value.back() != ' ' && value.front() != '\t' && value.back() != '\t'),
              "header values are trimmed");
    }
    if (head.chunked) check(!head.contentLength, "chunked framing wins over Content-Length");
    if (head.contentLength) check(head.header("content-length") != nullptr, "a length comes from a Content-Length header");
    if (head.chunked) check(head.header("transfer-encoding") != nullptr, "chunked comes from a Transfer-Encoding header");
}

// parseResponseHead on `bytes` as they are: the head's length, 0 when
// unfinished, nullopt when refused.
std::optional<std::size_t> parseAll(std::string_view bytes, ResponseHead& head) {
    try {
        const auto used = parseResponseHead(bytes, head);
        check(used <= bytes.size(), "a head is within the bytes");
        if (used == 0) {
            check(bytes.find("\n\n") == std::string_view::npos && bytes.find("\r\n\r\n") == std::string_view::npos,
                  "a blank line finishes the head");
            check(bytes.size() <= kMaxHead, "an unfinished head past the bound is refused");
            return 0;
        }
        const auto text = bytes.substr(0, used);
        check(text.ends_with("\n\n") || text.ends_with("\r\n\r\n"), "a head ends with its blank line");
        const auto blank = std::min(text.find("\n\n"), text.find("\r\n\r\n"));
        check(blank + (text[blank] == '\n' ? 2 : 4) == used, "a head ends at its first blank line");
        checkHead(head);
        return used;
    } catch (const UpstreamError& error) {
        check(error.kind() == UpstreamError::Kind::Protocol, "a refused head is a protocol error");
        return std::nullopt;
    }
}

void checkPrefixes(std::string_view bytes, std::size_t used, PieceSizes& sizes) {
    const auto cut = bytes.substr(0, sizes.below(used));
    ResponseHead head;
    try {
        check(parseResponseHead(cut, head) == 0, "no prefix of a head is a head");
    } catch (const UpstreamError&) {
        check(cut.size() > kMaxHead, "a prefix of a head is only refused for its size");
    }
}

// What ResponseReader must make of the bytes, worked out from the whole of them.
struct Expected {
    enum class Ending { Head, Closed, Protocol } ending = Ending::Head;
    ResponseHead head;
    std::size_t headEnd = 0;  // after the final (non-1xx) head
    std::size_t longestHead = 0;
};

Expected expectedHead(std::string_view bytes, PieceSizes& sizes) {
    Expected expected;
    std::size_t at = 0;
    while (true) {
        ResponseHead head;
        const auto used = parseAll(bytes.substr(at), head);
        if (!used) {
            expected.ending = Expected::Ending::Protocol;
            return expected;
        }
        if (*used == 0) {
            expected.ending = Expected::Ending::Closed;
            return expected;
        }
        checkPrefixes(bytes.substr(at), *used, sizes);
        expected.longestHead = std::max(expected.longestHead, *used);
        at += *used;
        if (head.status >= 200) {
            expected.head = std::move(head);
            expected.headEnd = at;
            return expected;
        }
    }
}

void checkSameHead(const ResponseHead& a, const ResponseHead& b) {
    check(a.status == b.status && a.headers == b.headers && a.contentLength == b.contentLength &&
              a.chunked == b.chunked,
          "the reader's head is the head in the whole bytes");
}

void readAnswer(std::string_view bytes, bool headRequest, bool withoutWaiting, PieceSizes& sizes) {
    const auto expected = expectedHead(bytes, sizes);

    wire = Wire{bytes, 0, &sizes};
    auto connection = sluice::kernel::UpstreamConnection::open(sluice::Backend{}, nullptr);
    ResponseReader reader(*connection, -1);
    try {
        reader.readHead(sluice::kernel::Clock::now(), headRequest);
    } catch (const UpstreamError& error) {
        check(reader.receivedAny() == (wire.delivered > 0), "receivedAny() is whether a byte came");
        if (error.kind() == UpstreamError::Kind::Protocol) {
            // A head that arrives in pieces is refused once it passes the
            // bound unfinished; all at once it may be longer.
            check(expected.ending == Expected::Ending::Protocol || expected.longestHead > kMaxHead,
                  "the reader refuses a head only when the whole bytes are refused");
        } else {
            check(error.kind() == UpstreamError::Kind::Closed, "a head ends in a protocol error or a close");
            check(expected.ending == Expected::Ending::Closed, "the reader sees a close only when no head is finished");
        }
        return;
    } catch (const std::exception& error) {
        violated("only UpstreamError leaves readHead", error.what());
    }
    check(expected.ending == Expected::Ending::Head, "the reader finds a head only when the whole bytes hold one");
    const auto& head = reader.head();
    check(head.status >= 200, "1xx heads are skipped");
    checkSameHead(head, expected.head);

    // The body its framing declares, from the bytes after the head.
    const auto rest = bytes.substr(expected.headEnd);
    const bool noBody = headRequest || head.status == 204 || head.status == 304 || head.contentLength == 0;
    std::string expectedBody;
    std::size_t framedEnd = expected.headEnd;  // where the answer ends, if it does
    auto expectedEnding = Expected::Ending::Head;  // Head: the body ends cleanly
    if (noBody) {
    } else if (head.chunked) {
        ChunkedDecoder decoder;
        const auto used = decoder.feed(rest, expectedBody);
        framedEnd += used;
        expectedEnding = decoder.done() ? Expected::Ending::Head : decoder.failed() ? Expected::Ending::Protocol : Expected::Ending::Closed;
    } else if (head.contentLength) {
        const auto length = static_cast<std::size_t>(std::min<std::uint64_t>(*head.contentLength, rest.size()));
        expectedBody = rest.substr(0, length);
        framedEnd += length;
        if (*head.contentLength > rest.size()) expectedEnding = Expected::Ending::Closed;
    } else {
        expectedBody = rest;
        framedEnd = bytes.size();
    }
    check(reader.closeDelimited() == (!noBody && !head.chunked && !head.contentLength), "close-delimited exactly without framing");
    if (reader.closeDelimited()) check(!head.keepAlive, "a close-delimited answer ends its connection");

    std::string body;
    auto ending = Expected::Ending::Head;
    try {
        std::string piece;
        if (withoutWaiting) {
            ResponseReader::Turn turn;  // one per wake-up of the loop: a new one after each Wait
            for (;;) {
                const auto read = reader.readBodyNow(piece, turn);
                if (read == ResponseReader::Now::End) break;
                check(piece.empty() == (read == ResponseReader::Now::Wait), "readBodyNow() appends exactly when it says Data");
                if (read == ResponseReader::Now::Wait) turn = {};
                body += piece;
                piece.clear();
            }
        } else {
            while (reader.readBody(piece, sluice::kernel::Clock::now())) {
                check(!piece.empty(), "readBody() true means bytes were appended");
                body += piece;
                piece.clear();
            }
        }
        check(piece.empty(), "the end of the body appends nothing");
    } catch (const UpstreamError& error) {
        ending = error.kind() == UpstreamError::Kind::Protocol ? Expected::Ending::Protocol : Expected::Ending::Closed;
        check(error.kind() == UpstreamError::Kind::Protocol || error.kind() == UpstreamError::Kind::Closed,
              "a body ends in a protocol error or a close");
    } catch (const std::exception& error) {
        violated("only UpstreamError leaves readBody", error.what());
    }
    check(ending == expectedEnding, "the body ends as its framing says");
    if (ending == Expected::Ending::Head) {
        check(body == expectedBody, "the body is what its framing declares");
        if (reader.reusable())
            check(wire.delivered == framedEnd, "a reusable connection has read nothing past the answer");
    } else {
        check(std::string_view(expectedBody).starts_with(body), "a broken body is a prefix of the declared one");
        check(!reader.reusable(), "a broken answer's connection is not reused");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < kHeaderBytes) return 0;
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    PieceSizes sizes(sluice::fuzz::seedFrom(all.substr(1), 2));
    readAnswer(all.substr(kHeaderBytes), data[0] & 1, data[0] & 2, sizes);
    return 0;
}
