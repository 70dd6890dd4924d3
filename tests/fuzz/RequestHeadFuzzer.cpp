// libFuzzer target for a client's request head: ServerRequest reading it, as
// sluiced does, from a real ClientSession (Poco's HTTPServerSession buffer,
// refilled by receives) whose socket hands the bytes out cut at
// fuzzer-chosen places, under fuzzer-chosen limits.
//
// The socket is this file's StreamSocketImpl answering receiveBytes from the
// input: every cut, down to one byte per receive, costs no system call.
//
// Invariants: the same outcome (the fields, or the refusal and its message)
// and the same bytes consumed however the bytes are cut; an accepted head is
// exactly its bytes, up to the first blank line after the request line, no
// prefix of it is a head, and every byte after it (the body, the next
// request) is left in the session; its method and field names are tokens,
// its version HTTP/1.x, no CR, LF or NUL in its target or values, and its
// fields are its lines; the request line, fields and bytes consumed stay
// within the limits; its framing is unambiguous. A refusal is 400, 414, 431
// or 501 with its code, 414 and 431 only past a limit, 501 only for a
// transfer coding; NoMessageException only when nothing came. The reader
// asks for bytes past the input only when the head is unfinished, and a
// network failure there leaves as itself. The I/O thread's scan
// (front/RequestScan) finds an accepted head's end where the reader does, and
// a head it calls whole needs no byte past it.
//
// Input layout: byte 0 picks the limits (bits 0-1: request line; bits 2-3:
// header bytes; bit 4: fields) and bit 5 how the input ends (the client
// closes, or the read fails); bytes 1-2 seed where the bytes are cut; the
// rest is what the client sent.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>
#include <Poco/String.h>

#include "FuzzSupport.h"
#include "front/ClientSession.h"
#include "front/RequestScan.h"
#include "front/ServerRequest.h"
#include "front/ServerResponse.h"

namespace {

using sluice::fuzz::check;
using sluice::fuzz::PieceSizes;
using sluice::fuzz::violated;
using sluice::kernel::ClientSession;
using sluice::kernel::HeadLimits;
using sluice::kernel::HeadScan;
using sluice::kernel::scanHead;
using sluice::kernel::RequestHeadError;
using sluice::kernel::ServerRequest;
using sluice::kernel::ServerResponse;

constexpr std::size_t kHeaderBytes = 3;
constexpr std::size_t kMaxLeadingEmptyLines = 8;  // ServerRequest.cpp's

// How a run's receives are cut: at random places, one byte each, or as
// large as the session asks.
enum class Cut { Random, OneByte, Whole };

// A client socket that sent `bytes`, then closed or fails every read. It
// holds a real, unconnected socket only for the session's socket options.
class ScriptedSocket final : public Poco::Net::StreamSocketImpl {
public:
    ScriptedSocket(std::string_view bytes, Cut cut, std::uint64_t seed, bool failAtEnd)
        : StreamSocketImpl(Poco::Net::SocketAddress::IPv4), _bytes(bytes), _cut(cut), _sizes(seed), _failAtEnd(failAtEnd) {}

    int receiveBytes(void* buffer, int length, int) override {
        const auto left = _bytes.size() - _at;
        if (left == 0) {
            _askedPastEnd = true;
            if (_failAtEnd) throw Poco::TimeoutException("the scripted client stopped");
            return 0;
        }
        std::size_t size = std::min(left, static_cast<std::size_t>(length));
        if (_cut == Cut::OneByte) size = 1;
        if (_cut == Cut::Random) size = std::min(size, _sizes.next(left));
        std::memcpy(buffer, _bytes.data() + _at, size);
        _at += size;
        return static_cast<int>(size);
    }

    bool askedPastEnd() const { return _askedPastEnd; }

private:
    std::string_view _bytes;
    std::size_t _at = 0;
    Cut _cut;
    PieceSizes _sizes;
    bool _failAtEnd;
    bool _askedPastEnd = false;
};

struct Outcome {
    enum class Kind { Accepted, Refused, NoMessage, NetworkError } kind = Kind::NoMessage;
    int status = 0;  // Refused
    std::string code, message;
    std::string method, uri, version;                          // Accepted
    std::vector<std::pair<std::string, std::string>> fields;  // Accepted, sorted
    bool chunked = false;
    bool hasLength = false;
    std::size_t consumed = 0;   // the bytes the reader took from the session
    bool askedPastEnd = false;  // whether it wanted more than the client sent
};

bool same(const Outcome& a, const Outcome& b) {
    return a.kind == b.kind && a.status == b.status && a.code == b.code && a.message == b.message && a.method == b.method &&
           a.uri == b.uri && a.version == b.version && a.fields == b.fields && a.chunked == b.chunked &&
           a.hasLength == b.hasLength && a.consumed == b.consumed && a.askedPastEnd == b.askedPastEnd;
}

Outcome readHead(std::string_view input, const HeadLimits& limits, Cut cut, std::uint64_t seed, bool failAtEnd) {
    static Poco::Net::HTTPServerParams::Ptr params(new Poco::Net::HTTPServerParams);
    auto* scripted = new ScriptedSocket(input, cut, seed, failAtEnd);
    const Poco::Net::StreamSocket socket(scripted);  // Ownership: the socket holds the impl
    ClientSession session(socket, params);
    ServerResponse response(session);
    Outcome outcome;
    try {
        const ServerRequest request(response, session, params.get(), limits, {});
        outcome.kind = Outcome::Kind::Accepted;
        outcome.method = request.getMethod();
        outcome.uri = request.getURI();
        outcome.version = request.getVersion();
        for (const auto& field : request) outcome.fields.emplace_back(field);
        std::sort(outcome.fields.begin(), outcome.fields.end());
        outcome.chunked = request.getChunkedTransferEncoding();
        outcome.hasLength = request.hasContentLength();
    } catch (const RequestHeadError& error) {
        outcome.kind = Outcome::Kind::Refused;
        outcome.status = error.status();
        outcome.code = error.code();
        outcome.message = error.what();
    } catch (const Poco::Net::NoMessageException&) {
        outcome.kind = Outcome::Kind::NoMessage;
    } catch (const Poco::TimeoutException&) {
        outcome.kind = Outcome::Kind::NetworkError;
        check(failAtEnd && scripted->askedPastEnd(), "a network error comes only from the network");
    } catch (const std::exception& error) {
        violated("only RequestHeadError, NoMessageException and the network's errors leave the reader", error.what());
    }
    outcome.askedPastEnd = scripted->askedPastEnd();

    // Whatever the reader left: in the session's buffer, then not yet received.
    std::string rest;
    char piece[4096];
    try {
        while (const int n = session.readSome(piece, sizeof piece)) rest.append(piece, static_cast<std::size_t>(n));
    } catch (const Poco::TimeoutException&) {
        // the scripted end
    }
    check(input.ends_with(rest), "the bytes after what the reader took are left in order");
    outcome.consumed = input.size() - rest.size();
    return outcome;
}

bool isTokenChar(char c) {  // RFC 9110 5.6.2
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && std::string_view("\"(),/:;<=>?@[\\]{}").find(c) == std::string_view::npos;
}

bool isToken(std::string_view text) { return !text.empty() && std::all_of(text.begin(), text.end(), isTokenChar); }

bool holdsLineBreakOrNul(std::string_view text) { return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos; }

std::string_view trimmed(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

// A line as the reader cuts it: at LF, one CR before it dropped.
struct Line {
    std::string_view text;
    std::size_t end;  // the offset past its LF (or the bytes' end)
};

// The lines of `bytes`; the last is unterminated (maybe empty).
std::vector<Line> linesOf(std::string_view bytes) {
    std::vector<Line> lines;
    for (std::size_t at = 0;;) {
        const auto lf = bytes.find('\n', at);
        if (lf == std::string_view::npos) {
            lines.push_back({bytes.substr(at), bytes.size()});
            return lines;
        }
        auto text = bytes.substr(at, lf - at);
        if (text.ends_with('\r')) text.remove_suffix(1);
        lines.push_back({text, lf + 1});
        at = lf + 1;
    }
}

// The index of the request line among `lines`: the first non-empty one.
std::size_t requestLineOf(const std::vector<Line>& lines) {
    std::size_t at = 0;
    while (at + 1 < lines.size() && lines[at].text.empty()) ++at;
    return at;
}

// `text` split at runs of blanks.
std::vector<std::string_view> words(std::string_view text) {
    std::vector<std::string_view> out;
    for (text = trimmed(text); !text.empty(); text = trimmed(text)) {
        const auto end = std::min(text.find(' '), text.find('\t'));
        out.push_back(text.substr(0, end));
        text.remove_prefix(std::min(end, text.size()));
    }
    return out;
}

// The longest a head may be under `limits`: leading empty lines, the request
// line, the header lines and the blank line, each with CRLF.
std::size_t longestHead(const HeadLimits& limits) {
    return kMaxLeadingEmptyLines * 2 + limits.maxRequestLine + 2 + limits.maxHeaderBytes + 2;
}

void checkAccepted(std::string_view input, const HeadLimits& limits, const Outcome& outcome) {
    const auto head = input.substr(0, outcome.consumed);
    check(head.ends_with("\n"), "an accepted head ends with a line end");
    check(!outcome.askedPastEnd, "an accepted head needed no byte past itself");
    auto lines = linesOf(head);
    lines.pop_back();  // the empty piece after the last LF
    const auto first = requestLineOf(lines);
    check(first <= kMaxLeadingEmptyLines, "at most 8 empty lines before the request line");
    check(lines.size() >= first + 2 && lines.back().text.empty(), "an accepted head ends with a blank line");
    for (std::size_t i = first + 1; i + 1 < lines.size(); ++i)
        check(!lines[i].text.empty(), "a head ends at its first blank line after the request line");

    const auto requestLine = lines[first].text;
    check(requestLine.size() <= limits.maxRequestLine, "the request line is within its limit");
    const auto parts = words(requestLine);
    check(parts.size() == 3 && parts[0] == outcome.method && parts[1] == outcome.uri && parts[2] == outcome.version,
          "method, target and version are the request line's three words", requestLine);
    check(isToken(outcome.method), "the method is a token", outcome.method);
    check(outcome.version.size() == 8 && outcome.version.starts_with("HTTP/1.") && outcome.version[7] >= '0' &&
              outcome.version[7] <= '9',
          "the version is HTTP/1.x", outcome.version);
    check(std::none_of(outcome.uri.begin(), outcome.uri.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }),
          "the request target holds no control character", outcome.uri);

    // Each header line is one field: name to its first colon, the value
    // trimmed, NUL and bare CR as SP (RFC 9110 5.5).
    std::vector<std::pair<std::string, std::string>> expected;
    for (std::size_t i = first + 1; i + 1 < lines.size(); ++i) {
        const auto line = lines[i].text;
        const auto colon = line.find(':');
        check(colon != std::string_view::npos, "every header line has a colon", line);
        std::string value(trimmed(line.substr(colon + 1)));
        std::replace(value.begin(), value.end(), '\r', ' ');
        std::replace(value.begin(), value.end(), '\0', ' ');
        expected.emplace_back(std::string(line.substr(0, colon)), std::move(value));
    }
    const auto fieldBytes = lines[lines.size() - 2].end - lines[first].end;
    std::sort(expected.begin(), expected.end());
    check(outcome.fields == expected, "the fields are the head's lines");
    check(fieldBytes <= limits.maxHeaderBytes, "the header lines are within max_header_bytes");
    check(outcome.fields.size() <= limits.maxFields, "the fields are within their count");
    check(outcome.consumed <= longestHead(limits), "an accepted head is within the limits");

    std::size_t codings = 0, lengths = 0;
    for (const auto& [name, value] : outcome.fields) {
        check(isToken(name), "a field name is a token", name);
        check(!holdsLineBreakOrNul(value), "no field value holds CR, LF or NUL", value);
        if (Poco::icompare(name, "transfer-encoding") == 0) {
            ++codings;
            check(Poco::icompare(value, "chunked") == 0, "the only transfer coding accepted is chunked", value);
        } else if (Poco::icompare(name, "content-length") == 0) {
            ++lengths;
            check(!value.empty() && value.size() <= 18 && value.find_first_not_of("0123456789") == std::string::npos,
                  "an accepted Content-Length is at most 18 digits", value);
        }
    }
    check(codings <= 1 && !(codings == 1 && lengths > 0), "an accepted framing is unambiguous");
    check(!(codings == 1 && outcome.version == "HTTP/1.0"), "no chunked body in HTTP/1.0");
    check(outcome.chunked == (codings == 1) && outcome.hasLength == (lengths > 0), "the body's framing is the fields'");
}

void checkRefused(std::string_view input, const HeadLimits& limits, const Outcome& outcome) {
    static constexpr std::array<std::pair<int, std::string_view>, 4> kRefusals{
        {{400, "bad_request"}, {414, "request_line_too_long"}, {431, "request_header_too_large"},
         {501, "unsupported_transfer_encoding"}}};
    check(std::find(kRefusals.begin(), kRefusals.end(), std::pair<int, std::string_view>(outcome.status, outcome.code)) !=
              kRefusals.end(),
          "a refusal is 400, 414, 431 or 501 with its code", std::to_string(outcome.status) + " " + outcome.code);
    check(outcome.consumed <= longestHead(limits), "a refusal reads no more than the limits allow");
    check(outcome.askedPastEnd == outcome.message.starts_with("the request ended"),
          "a head is called cut off exactly when the reader reached the end");

    const auto lines = linesOf(input.substr(0, outcome.consumed));
    const auto first = requestLineOf(lines);
    if (outcome.status == 414) check(lines[first].text.size() > limits.maxRequestLine, "414 only past the request line's limit");
    if (outcome.status == 431)
        check(outcome.consumed - lines[first].end > limits.maxHeaderBytes || lines.size() - first - 2 > limits.maxFields,
              "431 only past max_header_bytes or the field count");
    if (outcome.status == 501) {
        bool coding = false;
        for (std::size_t i = first + 1; i < lines.size(); ++i) {
            const auto line = lines[i].text;
            const auto colon = line.find(':');
            coding = coding || (colon != std::string_view::npos &&
                                Poco::icompare(std::string(line.substr(0, colon)), "transfer-encoding") == 0 &&
                                Poco::icompare(std::string(trimmed(line.substr(colon + 1))), "chunked") != 0);
        }
        check(coding, "501 only for a transfer coding other than chunked");
    }
}

void checkOutcome(std::string_view input, const HeadLimits& limits, const Outcome& outcome) {
    switch (outcome.kind) {
    case Outcome::Kind::Accepted: checkAccepted(input, limits, outcome); break;
    case Outcome::Kind::Refused: checkRefused(input, limits, outcome); break;
    case Outcome::Kind::NoMessage: check(input.empty(), "NoMessageException only when the client sent nothing"); break;
    case Outcome::Kind::NetworkError: violated("harness: no network error when the client closes");
    }
}

HeadLimits limitsFor(std::uint8_t choice) {
    static constexpr std::array<std::size_t, 4> kRequestLines{16 * 1024, 64, 256, 4096};
    static constexpr std::array<std::size_t, 4> kHeaderBytesChoices{65536, 8192, 128, 1024};
    HeadLimits limits;
    limits.maxRequestLine = kRequestLines[choice & 3];
    limits.maxHeaderBytes = kHeaderBytesChoices[(choice >> 2) & 3];
    limits.maxFields = (choice & 0x10) != 0 ? 4 : 100;
    return limits;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < kHeaderBytes) return 0;
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    const auto input = all.substr(kHeaderBytes);
    const auto seed = sluice::fuzz::seedFrom(all.substr(1), 2);
    const auto limits = limitsFor(data[0]);

    const auto whole = readHead(input, limits, Cut::Whole, seed, false);
    checkOutcome(input, limits, whole);
    check(same(whole, readHead(input, limits, Cut::Random, seed, false)), "the same outcome however the bytes are cut",
          "random pieces");
    check(same(whole, readHead(input, limits, Cut::OneByte, seed, false)), "the same outcome however the bytes are cut",
          "one byte per receive");

    // No prefix of a head is a head: cut short, the reader wants more.
    if (whole.kind == Outcome::Kind::Accepted) {
        PieceSizes sizes(seed);
        const auto cut = readHead(input.substr(0, sizes.below(whole.consumed)), limits, Cut::Random, seed, false);
        check(cut.askedPastEnd && cut.kind != Outcome::Kind::Accepted, "a head cut short is unfinished");
    }

    // The I/O thread's look (front/RequestScan) agrees with the reader: it
    // hands over an accepted head exactly when all of it is in, and a head
    // it calls whole never makes the worker's reader wait for more bytes.
    const auto scan = scanHead(input, limits.maxRequestLine + limits.maxHeaderBytes + 2);
    if (whole.kind == Outcome::Kind::Accepted)
        check(scan.kind == HeadScan::Kind::Head && scan.bytes == whole.consumed, "the scan ends an accepted head where the reader does");
    if (scan.kind == HeadScan::Kind::Head) {
        const auto upToScan = readHead(input.substr(0, scan.bytes), limits, Cut::Random, seed, false);
        check(!upToScan.askedPastEnd, "a head the scan calls whole needs no more bytes");
    }
    if (scan.kind == HeadScan::Kind::More) check(whole.kind != Outcome::Kind::Accepted, "no head is accepted before the scan sees its end");
    // Scanned as it arrives, each scan resuming where the last found no end,
    // the scan says what one scan of it all says (or hands it over sooner,
    // when a piece without an end is already past the limit).
    {
        PieceSizes sizes(seed);
        const auto headLimit = limits.maxRequestLine + limits.maxHeaderBytes + 2;
        HeadScan piecewise = scanHead(input.substr(0, 0), headLimit);
        for (std::size_t have = 0, scanned = 0; have < input.size() && piecewise.kind == HeadScan::Kind::More; scanned = have) {
            have += sizes.next(input.size() - have);
            piecewise = scanHead(input.substr(0, have), headLimit, scanned);
        }
        if (piecewise.kind == HeadScan::Kind::Hand) check(scan.kind != HeadScan::Kind::More, "a scan in pieces hands over only what one scan would not wait for");
        else check(piecewise.kind == scan.kind && piecewise.bytes == scan.bytes, "a scan in pieces finds what one scan finds");
    }

    // A read that fails at the end instead: only a reader that needed more
    // bytes sees it, and it leaves as itself.
    if ((data[0] & 0x20) != 0) {
        auto failed = readHead(input, limits, Cut::Random, seed, true);
        if (whole.askedPastEnd) {
            check(failed.kind == Outcome::Kind::NetworkError, "a failed read leaves the reader as itself");
        } else {
            check(same(whole, failed), "a failed read past the head changes nothing");
        }
    }
    return 0;
}
