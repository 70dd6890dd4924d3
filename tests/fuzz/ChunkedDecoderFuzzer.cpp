// libFuzzer target for a chunked body, the framing both a client's request
// and a backend's answer may use: ChunkedDecoder on its own, and RequestBody
// reading a client's body through a real ClientSession over a socketpair,
// the way sluiced reads one. (The head before the body is
// fuzz.request-head's, RequestHeadFuzzer.cpp.)
//
// The decoder must decode the same however the bytes are cut, never consume
// a byte past the blank line that ends the trailers (the next pipelined
// request starts there), and accept the body it just decoded when it is
// encoded again. RequestBody must say Whole / TooLarge / Truncated / Malformed
// exactly when the decoder says so, and leave every byte after the body in
// the session.
//
// Input layout: byte 0 picks how RequestBody reads (bits 0-1: chunked,
// chunked, Content-Length, no body; bits 2-4: the size limit; bits 5-6:
// readAll, discard, or read() into a small buffer); bytes 1-2 seed where the
// bytes are cut; the rest is what the client sent after the head.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>

#include "FuzzSupport.h"
#include "front/ClientSession.h"
#include "front/RequestBody.h"
#include "http/ChunkedDecoder.h"

namespace {

using sluice::fuzz::check;
using sluice::fuzz::PieceSizes;
using sluice::kernel::ChunkedDecoder;
using sluice::kernel::ClientSession;
using sluice::kernel::RequestBody;

constexpr std::size_t kHeaderBytes = 3;

struct Decoded {
    std::size_t consumed = 0;
    std::string payload;
    bool done = false;
    bool failed = false;
    std::string error;
};

Decoded finish(const ChunkedDecoder& decoder, Decoded decoded) {
    decoded.done = decoder.done();
    decoded.failed = decoder.failed();
    decoded.error = decoder.error();
    check(!(decoded.done && decoded.failed), "never both done and failed");
    check(decoded.failed == !decoded.error.empty(), "an error message exactly when failed");
    check(decoded.payload.size() <= decoded.consumed, "payload is never larger than the bytes consumed");
    if (decoded.done) check(decoded.payload.size() + 3 <= decoded.consumed, "a finished body has at least its last chunk's framing");
    return decoded;
}

// A decoder that ended takes nothing more and makes no more payload.
void checkEnded(ChunkedDecoder& decoder, std::string& payload) {
    const auto before = payload.size();
    check(decoder.feed("0\r\n\r\n5\r\nhello\r\n", payload) == 0, "an ended decoder consumes nothing");
    check(payload.size() == before, "an ended decoder makes no payload");
}

Decoded decodeWhole(std::string_view input) {
    ChunkedDecoder decoder;
    Decoded decoded;
    decoded.consumed = decoder.feed(input, decoded.payload);
    check(decoded.consumed <= input.size(), "consumes at most what it was given");
    if (!decoder.done() && !decoder.failed())
        check(decoded.consumed == input.size(), "consumes everything while the body goes on");
    if (decoder.done() || decoder.failed()) checkEnded(decoder, decoded.payload);
    return finish(decoder, std::move(decoded));
}

Decoded decodeInPieces(std::string_view input, PieceSizes& sizes) {
    ChunkedDecoder decoder;
    Decoded decoded;
    while (decoded.consumed < input.size() && !decoder.done() && !decoder.failed()) {
        const auto piece = input.substr(decoded.consumed, sizes.next(input.size() - decoded.consumed));
        const auto used = decoder.feed(piece, decoded.payload);
        check(used <= piece.size(), "consumes at most the piece");
        check(used == piece.size() || decoder.done() || decoder.failed(), "consumes a whole piece unless the body ended");
        decoded.consumed += used;
    }
    if (decoder.done() || decoder.failed()) checkEnded(decoder, decoded.payload);
    return finish(decoder, std::move(decoded));
}

// As RequestBody feeds it: a chunk's payload in pieces no longer than what
// is left of the chunk, the framing one byte at a time.
Decoded decodeLikeRequestBody(std::string_view input, PieceSizes& sizes) {
    ChunkedDecoder decoder;
    Decoded decoded;
    while (decoded.consumed < input.size() && !decoder.done() && !decoder.failed()) {
        const auto left = input.size() - decoded.consumed;
        const auto inChunk = decoder.dataLeft();
        const auto take = inChunk > 0 ? std::min<std::uint64_t>({inChunk, left, sizes.next(left)}) : 1;
        const auto before = decoded.payload.size();
        const auto used = decoder.feed(input.substr(decoded.consumed, take), decoded.payload);
        if (inChunk > 0) {
            check(used == take, "chunk data within dataLeft() is consumed whole");
            check(decoded.payload.size() - before == take, "chunk data within dataLeft() is all payload");
            check(decoder.dataLeft() == inChunk - take || (inChunk == take && decoder.dataLeft() == 0),
                  "dataLeft() counts down by the data fed");
        } else {
            check(decoded.payload.size() == before, "framing bytes make no payload");
            check(used == (decoder.failed() ? 0 : 1), "a framing byte is consumed unless it is refused");
        }
        decoded.consumed += used;
    }
    return finish(decoder, std::move(decoded));
}

void checkSame(const Decoded& a, const Decoded& b, const char* how) {
    check(a.consumed == b.consumed, "same consumed count however the input is cut", how);
    check(a.payload == b.payload, "same payload however the input is cut", how);
    check(a.done == b.done && a.failed == b.failed, "same ending however the input is cut", how);
    check(a.error == b.error, "same error however the input is cut", how);
}

std::string hex(std::size_t value) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    do text.insert(text.begin(), kDigits[value % 16]);
    while ((value /= 16) != 0);
    return text;
}

// `payload` chunked again at sizes from `sizes`, with CRLF or bare LF.
std::string encode(std::string_view payload, PieceSizes& sizes, bool bareLf) {
    const std::string_view eol = bareLf ? "\n" : "\r\n";
    std::string out;
    for (std::size_t at = 0; at < payload.size();) {
        const auto size = sizes.next(payload.size() - at);
        out.append(hex(size)).append(eol).append(payload.substr(at, size)).append(eol);
        at += size;
    }
    out.append("0").append(eol).append(eol);
    return out;
}

void checkFinished(std::string_view input, const Decoded& whole, PieceSizes& sizes) {
    // The blank line that ends the trailers is the last thing consumed.
    const auto body = input.substr(0, whole.consumed);
    check(body.ends_with("\n\n") || body.ends_with("\n\r\n"), "a finished body ends with a blank line");

    // A body is self-delimiting: alone it decodes the same, and no shorter
    // prefix of it is finished or refused.
    checkSame(whole, decodeWhole(body), "the body alone");
    const auto prefix = decodeWhole(body.substr(0, sizes.below(body.size())));
    check(!prefix.done && !prefix.failed, "a finished body's prefix is unfinished");

    const auto again = decodeWhole(encode(whole.payload, sizes, sizes.below(2) == 0));
    check(again.done && again.payload == whole.payload, "the payload encoded again decodes to itself");
}

// A client connection that sent `sent` and half-closed, so a read past the
// data sees the end instead of waiting.
class ClientConnection {
public:
    explicit ClientConnection(std::string_view sent) : ClientConnection(socketPair(), sent) {}
    ~ClientConnection() { ::close(_client); }

    const Poco::Net::StreamSocket& socket() const { return _socket; }

private:
    static std::array<int, 2> socketPair() {
        std::array<int, 2> fds{};
        check(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds.data()) == 0, "harness: socketpair");
        return fds;
    }

    ClientConnection(std::array<int, 2> fds, std::string_view sent)
        : _client(fds[1]), _socket(new Poco::Net::StreamSocketImpl(fds[0])) {
        std::size_t written = 0;
        while (written < sent.size()) {
            const auto n = ::send(_client, sent.data() + written, sent.size() - written, MSG_DONTWAIT | MSG_NOSIGNAL);
            check(n > 0, "harness: the socket buffer holds the whole input (lower -max_len)");
            written += static_cast<std::size_t>(n);
        }
        ::shutdown(_client, SHUT_WR);
    }

    int _client;
    Poco::Net::StreamSocket _socket;
};

// How the body is taken. read() has no limit of its own: a relay passes the
// body on piece by piece.
enum class Reading { All, Discard, Pieces };

const char* describe(RequestBody::Status status) {
    switch (status) {
    case RequestBody::Status::Whole: return "Whole";
    case RequestBody::Status::TooLarge: return "TooLarge";
    case RequestBody::Status::Truncated: return "Truncated";
    case RequestBody::Status::Malformed: return "Malformed";
    }
    return "?";
}

// What RequestBody makes of the same bytes arriving on a client connection.
void checkRequestBody(std::uint8_t choice, std::string_view input, const Decoded& whole, PieceSizes& sizes) {
    using Framing = RequestBody::Framing;
    using Status = RequestBody::Status;
    static constexpr std::array<Framing, 4> kFramings{Framing::Chunked, Framing::Chunked, Framing::Length, Framing::None};
    static constexpr std::array<std::size_t, 8> kLimits{0, 1, 5, 64, 1000, 4096, 16384, 1 << 20};
    const auto framing = kFramings[choice & 3];
    const auto limit = kLimits[(choice >> 2) & 7];
    const auto reading = static_cast<Reading>(std::min((choice >> 5) & 3, 2));
    const std::uint64_t length = framing == Framing::Length ? sizes.below(input.size() + 16) : 0;

    ClientConnection connection(input);
    static const Poco::Net::HTTPServerParams::Ptr params(new Poco::Net::HTTPServerParams);
    ClientSession session(connection.socket(), params);
    RequestBody body(session, framing, length);

    std::string out;
    Status status;
    if (reading == Reading::All) {
        status = body.readAll(out, limit);
    } else if (reading == Reading::Discard) {
        status = body.discard(limit);
    } else {
        // read() as a relay calls it, into a buffer smaller than a chunk.
        char buffer[7];
        while (const auto n = body.read(buffer, 1 + sizes.below(sizeof buffer))) {
            check(out.size() + n <= input.size(), "read() returns no more than was sent");
            out.append(buffer, n);
        }
        status = body.status();
        check(status != Status::TooLarge, "read() itself has no limit");
    }
    std::string rest;
    char piece[4096];
    while (const int n = session.readSome(piece, sizeof piece)) rest.append(piece, static_cast<std::size_t>(n));

    if (status == Status::Whole) check(body.finished(), "Whole means finished");
    if (status == Status::TooLarge && reading == Reading::All) check(out.size() <= limit, "TooLarge keeps at most the limit");

    std::string_view expectedOut;
    Status expected;
    std::size_t used = 0;
    switch (framing) {
    case Framing::None:
        expected = Status::Whole;
        break;
    case Framing::Length:
        if (reading != Reading::Pieces && length > limit) {
            expected = Status::TooLarge;
        } else {
            used = static_cast<std::size_t>(std::min<std::uint64_t>(length, input.size()));
            expected = length <= input.size() ? Status::Whole : Status::Truncated;
            expectedOut = input.substr(0, used);
        }
        check(body.declaredLeft() == (expected == Status::TooLarge ? length : length - used),
              "declaredLeft() is what the length still declares");
        break;
    case Framing::Chunked:
        expected = whole.done ? Status::Whole : whole.failed ? Status::Malformed : Status::Truncated;
        expectedOut = whole.payload;
        // RequestBody reads a framing byte before the decoder refuses it.
        used = whole.done ? whole.consumed : whole.failed ? whole.consumed + 1 : input.size();
        if (reading != Reading::Pieces && whole.payload.size() > limit) expected = Status::TooLarge;
        break;
    }
    // Found by this target: ClientSession::nextByte() returns Poco's
    // HTTPSession::get(), a plain char widened to int, so a 0xff byte in the
    // framing (a trailer's obs-text, an extension) equals eof() and the body
    // reads as cut off. Named apart so a campaign can go on past it.
    const auto stoppedAt = input.size() - rest.size();
    const bool ffReadAsEnd = framing == Framing::Chunked && status == Status::Truncated &&
                             (expected != status || stoppedAt != used) && stoppedAt > 0 &&
                             static_cast<unsigned char>(input[stoppedAt - 1]) == 0xff;
    check(!ffReadAsEnd, "a 0xff byte in the chunk framing is not the end of the body");
    if (ffReadAsEnd) return;
    check(status == expected, "RequestBody's status follows the framing",
          std::string(describe(status)) + " instead of " + describe(expected));
    if (status == Status::Malformed) check(body.error() == whole.error, "RequestBody's error is the decoder's");
    if (status == Status::TooLarge) {
        if (reading == Reading::All) check(expectedOut.starts_with(out), "TooLarge keeps a prefix of the body");
        if (framing == Framing::Length) check(out.empty() && rest == input, "a declared length past the limit reads nothing");
        return;  // the rest of the body is unread: the connection is closed
    }
    if (reading != Reading::Discard) check(out == expectedOut, "RequestBody returns the body's payload");
    // A Whole body leaves the next request in the session.
    check(rest == input.substr(used), "RequestBody reads exactly the body", input.substr(used, 64));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < kHeaderBytes) return 0;
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    const auto input = all.substr(kHeaderBytes);
    PieceSizes sizes(sluice::fuzz::seedFrom(all.substr(1), 2));

    const auto whole = decodeWhole(input);
    checkSame(whole, decodeInPieces(input, sizes), "in pieces");
    checkSame(whole, decodeLikeRequestBody(input, sizes), "as RequestBody feeds it");
    if (whole.done) checkFinished(input, whole, sizes);
    checkRequestBody(data[0], input, whole, sizes);
    return 0;
}
