#include "ServerRequest.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <Poco/Net/NetException.h>
#include <Poco/String.h>

#include "ClientSession.h"
#include "ServerResponse.h"

namespace sluice::kernel {

namespace {
constexpr int kEof = std::char_traits<char>::eof();
constexpr int kMaxLeadingEmptyLines = 8;  // RFC 9112 2.2: a client may send CRLF after a body

// Reads the head line by line, a byte at a time from the session's buffer
// (refilled by one receive when empty), so nothing past the head is taken.
//
// Why not Poco's HTTPHeaderInputStream, which read heads before: its buffer
// takes the session's bytes as plain chars widened to int, so a 0xff byte
// (obs-text, allowed in a field value by RFC 9110 5.5) read as the end of
// the input: the byte was dropped, and at the start of one of its reads it
// ended the head (a 400, or a silent close before a request line). It also
// took any two-byte piece ending in LF for the blank line that ends a head.
class LineReader {
public:
    explicit LineReader(ClientSession& session) : _session(session) {}

    enum class Result { Line, TooLong, End };

    // One line without its line end (LF or CRLF) into `line`, if it is at most
    // `limit` bytes. `consumed` counts the bytes taken, line end included.
    // End: the client closed first. A network error (time-out, reset) leaves
    // as itself.
    Result next(std::string& line, std::size_t limit, std::size_t& consumed) {
        line.clear();
        consumed = 0;
        while (true) {
            const int ch = _session.nextByte();
            if (ch == kEof) return Result::End;
            ++consumed;
            if (ch == '\n') {
                if (!line.empty() && line.back() == '\r') line.pop_back();
                return line.size() > limit ? Result::TooLong : Result::Line;
            }
            if (line.size() > limit) return Result::TooLong;  // limit + 1 kept: the last may be the CR of CRLF
            line.push_back(static_cast<char>(ch));
        }
    }

private:
    ClientSession& _session;
};

bool isTokenChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text)
        if (!isTokenChar(c)) return false;
    return true;
}

bool isControl(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
}

bool isBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view trimBlanks(std::string_view text) {
    while (!text.empty() && isBlank(text.front())) text.remove_prefix(1);
    while (!text.empty() && isBlank(text.back())) text.remove_suffix(1);
    return text;
}

// Poco's interface hands out the body as a stream; this one reads RequestBody.
class BodyStreamBuffer final : public std::streambuf {
public:
    // `length`: the body's declared length, when it has one. The buffer is
    // no larger than that: a chat request's few hundred bytes took 8 KiB
    // every time, an allocation large enough to make malloc tidy its bins.
    BodyStreamBuffer(RequestBody& body, std::optional<std::uint64_t> length)
        : _body(body), _buffer(static_cast<std::size_t>(std::clamp<std::uint64_t>(length.value_or(kMost), 1, kMost))) {}

private:
    static constexpr std::uint64_t kMost = 8192;

    int_type underflow() override {
        const auto n = _body.read(_buffer.data(), _buffer.size());
        if (n == 0) return traits_type::eof();
        setg(_buffer.data(), _buffer.data(), _buffer.data() + n);
        return traits_type::to_int_type(_buffer[0]);
    }

    RequestBody& _body;
    std::vector<char> _buffer;
};

RequestBody::Framing framingOf(const Poco::Net::HTTPRequest& request) {
    if (request.getChunkedTransferEncoding()) return RequestBody::Framing::Chunked;
    if (request.hasContentLength()) return RequestBody::Framing::Length;
    return RequestBody::Framing::None;
}

bool isDigits(std::string_view text) {
    if (text.empty()) return false;
    for (char c : text)
        if (c < '0' || c > '9') return false;
    return true;
}
} // namespace

ServerRequest::ServerRequest(ServerResponse& response, ClientSession& session, Poco::Net::HTTPServerParams* params,
                             const HeadLimits& limits, const ConnectionInfo& connection,
                             std::optional<std::chrono::steady_clock::time_point> headEnd)
    : _response(response), _session(session), _params(params, true) {
    readHead(limits);
    _bodyDeadline = headEnd.value_or(std::chrono::steady_clock::now()) + limits.bodyTimeout;
    checkFraming();
    const auto framing = framingOf(*this);
    const auto length = framing == RequestBody::Framing::Length ? std::optional(static_cast<std::uint64_t>(getContentLength64()))
                                                                 : std::nullopt;
    _body.emplace(session, framing, length.value_or(0));
    _streamBuffer = std::make_unique<BodyStreamBuffer>(*_body, length);
    _stream = std::make_unique<std::istream>(_streamBuffer.get());
    _secure = connection.secure;
    _clientAddress = connection.peer;
    _relays = connection.relays;
}

ServerRequest::~ServerRequest() = default;

Poco::Net::HTTPServerResponse& ServerRequest::response() const { return _response; }

Poco::Net::StreamSocket& ServerRequest::socket() { return _session.socket(); }

const Poco::Net::SocketAddress& ServerRequest::serverAddress() const {
    if (!_serverAddress) _serverAddress = _session.socket().address();
    return *_serverAddress;
}

void ServerRequest::readHead(const HeadLimits& limits) {
    LineReader reader(_session);
    std::string line;
    std::size_t consumed = 0;

    // The request line, after the empty lines a client may send between requests.
    LineReader::Result result = LineReader::Result::End;
    bool anything = false;
    for (int empty = 0; empty <= kMaxLeadingEmptyLines; ++empty) {
        result = reader.next(line, limits.maxRequestLine, consumed);
        anything = anything || consumed > 0;
        if (result != LineReader::Result::Line || !line.empty()) break;
    }
    if (result == LineReader::Result::End && line.empty()) {
        if (!anything) throw Poco::Net::NoMessageException();
        throw RequestHeadError(400, "bad_request", "the request ended before its request line");
    }
    if (result == LineReader::Result::TooLong)
        throw RequestHeadError(414, "request_line_too_long",
                               "the request line is longer than " + std::to_string(limits.maxRequestLine) + " bytes");
    if (result == LineReader::Result::End)
        throw RequestHeadError(400, "bad_request", "the request ended inside its request line");
    if (line.empty()) throw RequestHeadError(400, "bad_request", "no request line");

    // method SP request-target SP HTTP-version; runs of blanks are tolerated as Poco did.
    std::string_view rest(line);
    std::string_view parts[3];
    int count = 0;
    for (rest = trimBlanks(rest); !rest.empty() && count < 4; rest = trimBlanks(rest), ++count) {
        std::size_t end = 0;
        while (end < rest.size() && !isBlank(rest[end])) ++end;
        if (count < 3) parts[count] = rest.substr(0, end);
        rest.remove_prefix(end);
    }
    if (count != 3) throw RequestHeadError(400, "bad_request", "malformed request line");
    const std::string method(parts[0]);
    const std::string uri(parts[1]);
    const auto fail = [&](int status, const char* code, const std::string& message) {
        return RequestHeadError(status, code, message, method, uri);
    };
    if (!isToken(parts[0])) throw fail(400, "bad_request", "malformed request method");
    for (char c : parts[1])
        if (isControl(c)) throw fail(400, "bad_request", "control character in the request target");
    const auto version = parts[2];
    if (version.size() != 8 || !version.starts_with("HTTP/1.") || version[7] < '0' || version[7] > '9')
        throw fail(400, "bad_request", "unsupported HTTP version (HTTP/1.x only)");
    setMethod(method);
    setURI(uri);
    setVersion(std::string(version));

    // Header fields up to the blank line. Every line counts against one budget.
    std::size_t used = 0;
    std::size_t fields = 0;
    const auto tooLarge = [&] {
        return fail(431, "request_header_too_large",
                    "the request's header fields are larger than " + std::to_string(limits.maxHeaderBytes) + " bytes");
    };
    while (true) {
        const std::size_t budget = limits.maxHeaderBytes > used ? limits.maxHeaderBytes - used : 0;
        result = reader.next(line, budget, consumed);
        if (result == LineReader::Result::TooLong) throw tooLarge();
        if (result == LineReader::Result::End) throw fail(400, "bad_request", "the request ended inside its header");
        if (line.empty()) break;
        used += consumed;
        if (used > limits.maxHeaderBytes) throw tooLarge();
        if (++fields > limits.maxFields)
            throw fail(431, "request_header_too_large",
                       "the request has more than " + std::to_string(limits.maxFields) + " header fields");
        // Obsolete line folding is refused (RFC 9112 5.2 allows that).
        if (isBlank(line.front())) throw fail(400, "bad_request", "folded header lines are not accepted");
        const auto colon = line.find(':');
        if (colon == std::string::npos) throw fail(400, "bad_request", "a header line has no colon");
        const std::string_view name(line.data(), colon);
        // A blank before the colon is refused too (RFC 9112 5.1): it is not a token character.
        if (!isToken(name)) throw fail(400, "bad_request", "malformed header field name");
        std::string value(trimBlanks(std::string_view(line).substr(colon + 1)));
        // NUL and a bare CR are replaced with SP (RFC 9110 5.5 allows that),
        // not refused: a malformed credential must reach the auth stage and
        // get its 401, and the forwarder never sees the raw bytes.
        for (char& c : value)
            if (c == '\0' || c == '\r') c = ' ';
        add(std::string(name), value);
    }
}

void ServerRequest::checkFraming() {
    // The body's length must be unambiguous: a request that two parsers could
    // split differently is refused (RFC 9112 6.3).
    int transferEncodings = 0;
    std::string contentLength;
    for (const auto& [name, value] : *this) {
        if (Poco::icompare(name, TRANSFER_ENCODING) == 0) {
            ++transferEncodings;
            if (Poco::icompare(value, CHUNKED_TRANSFER_ENCODING) != 0)
                throw RequestHeadError(501, "unsupported_transfer_encoding", "only chunked transfer coding is supported",
                                       getMethod(), getURI());
        } else if (Poco::icompare(name, CONTENT_LENGTH) == 0) {
            if (!isDigits(value) || value.size() > 18 || (!contentLength.empty() && value != contentLength))
                throw RequestHeadError(400, "bad_request", "invalid Content-Length", getMethod(), getURI());
            contentLength = value;
        }
    }
    if (transferEncodings > 1)
        throw RequestHeadError(400, "bad_request", "Transfer-Encoding given more than once", getMethod(), getURI());
    if (transferEncodings > 0 && !contentLength.empty())
        throw RequestHeadError(400, "bad_request", "both Transfer-Encoding and Content-Length given", getMethod(), getURI());
    // Chunked coding is HTTP/1.1's: an HTTP/1.0 peer or proxy in between
    // would delimit the body differently (RFC 9112 6.1).
    if (transferEncodings > 0 && getVersion() == HTTP_1_0)
        throw RequestHeadError(400, "bad_request", "Transfer-Encoding is not allowed in HTTP/1.0", getMethod(), getURI());
}

} // namespace sluice::kernel
