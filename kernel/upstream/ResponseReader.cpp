#include "ResponseReader.h"

#include <charconv>

#include <Poco/String.h>

#include "UpstreamError.h"

namespace sluice::kernel {

namespace {
constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::size_t kReadSize = 16 * 1024;

[[noreturn]] void protocolError(const std::string& why) { throw UpstreamError(UpstreamError::Kind::Protocol, why); }
} // namespace

const std::string* ResponseHead::header(const std::string& lowerCaseName) const {
    for (const auto& [name, value] : headers)
        if (name == lowerCaseName) return &value;
    return nullptr;
}

std::size_t parseResponseHead(std::string_view bytes, ResponseHead& head) {
    // The head ends at the first blank line, CRLF or bare LF, whichever comes
    // first: a body right behind it may hold the other kind.
    auto end = bytes.find("\r\n\r\n");
    std::size_t delimiter = 4;
    if (const auto bare = bytes.find("\n\n"); bare != std::string_view::npos && (end == std::string_view::npos || bare < end)) {
        end = bare;
        delimiter = 2;
    }
    if (end == std::string_view::npos) {
        if (bytes.size() > kMaxHead) protocolError("response head too large");
        return 0;
    }
    std::string_view text = bytes.substr(0, end);
    auto nextLine = [&text]() {
        auto newline = text.find('\n');
        auto line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        return line;
    };

    const auto statusLine = nextLine();
    if (!statusLine.starts_with("HTTP/1.") || statusLine.size() < 12 || statusLine[8] != ' ')
        protocolError("bad status line");
    const auto [ptr, error] = std::from_chars(statusLine.data() + 9, statusLine.data() + 12, head.status);
    const bool statusEnds = statusLine.size() == 12 || statusLine[12] == ' ';
    if (error != std::errc() || ptr != statusLine.data() + 12 || !statusEnds || head.status < 100 || head.status > 599)
        protocolError("bad status code");
    head.keepAlive = statusLine.starts_with("HTTP/1.1");

    while (!text.empty()) {
        const auto line = nextLine();
        if (line.empty()) continue;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) protocolError("bad header line");
        // A name is a token (RFC 9110 5.1): no NUL, blank or control byte (found by fuzz.response-head).
        for (const char c : line.substr(0, colon)) {
            const auto u = static_cast<unsigned char>(c);
            if (u <= 0x20 || u >= 0x7f || std::string_view("\"(),/:;<=>?@[\\]{}").find(c) != std::string_view::npos)
                protocolError("bad header name");
        }
        auto name = Poco::toLower(std::string(line.substr(0, colon)));
        auto value = Poco::trim(std::string(line.substr(colon + 1)));
        // A bare CR or a NUL in a value: some values reach the client's
        // answer (Content-Type, Retry-After), where a CR would split it.
        if (value.find_first_of(std::string_view("\r\0", 2)) != std::string::npos) protocolError("bad header value");
        if (name == "content-length") {
            std::uint64_t length = 0;
            const auto [p, e] = std::from_chars(value.data(), value.data() + value.size(), length);
            if (e != std::errc() || p != value.data() + value.size()) protocolError("bad Content-Length");
            if (head.contentLength && *head.contentLength != length) protocolError("conflicting Content-Length");
            head.contentLength = length;
        } else if (name == "transfer-encoding") {
            // "identity" means no transfer coding; any other must end in chunked (RFC 9112 6.1).
            if (Poco::icompare(value, "identity") != 0) {
                head.chunked = Poco::toLower(value).ends_with("chunked");
                if (!head.chunked) protocolError("unsupported Transfer-Encoding");
            }
        } else if (name == "connection") {
            const auto lower = Poco::toLower(value);
            if (lower.find("close") != std::string::npos) head.keepAlive = false;
            if (lower.find("keep-alive") != std::string::npos) head.keepAlive = true;
        }
        head.headers.emplace_back(std::move(name), std::move(value));
    }
    // Chunked framing wins over a Content-Length (RFC 9112 6.3).
    if (head.chunked) head.contentLength.reset();
    return end + delimiter;
}

std::size_t ResponseReader::fill(Clock::time_point deadline) {
    char chunk[kReadSize];
    const auto n = _connection.readSome(chunk, sizeof chunk, deadline, _clientFd, _parkVia);
    _buffer.append(chunk, n);
    _receivedAny = _receivedAny || n > 0;
    return n;
}

const ResponseHead& ResponseReader::readHead(Clock::time_point deadline, bool headRequest) {
    while (true) {
        // 1xx answers (100 Continue) are skipped: the real head follows.
        if (!_buffer.empty()) {
            ResponseHead head;
            const auto used = parseResponseHead(_buffer, head);
            if (used > 0) {
                _buffer.erase(0, used);
                if (head.status < 200) continue;
                _head = std::move(head);
                break;
            }
        }
        if (fill(deadline) == 0) {
            throw UpstreamError(UpstreamError::Kind::Closed,
                                _buffer.empty() ? "connection closed before answering" : "connection closed mid-head");
        }
    }
    const bool noBody = headRequest || _head.status == 204 || _head.status == 304;
    if (noBody || (_head.contentLength && *_head.contentLength == 0)) {
        _ended = true;
    } else if (_head.contentLength) {
        _remaining = *_head.contentLength;
    } else if (!_head.chunked) {
        _untilClose = true;
        _head.keepAlive = false;
    }
    return _head;
}

bool ResponseReader::takeBuffered(std::string& out) {
    if (_buffer.empty()) return false;
    const auto before = out.size();
    if (_head.chunked) {
        const auto used = _decoder.feed(_buffer, out);
        _buffer.erase(0, used);
        if (_decoder.failed()) protocolError("bad chunked framing: " + _decoder.error());
        if (_decoder.done()) _ended = true;
    } else if (_untilClose) {
        out.append(_buffer);
        _buffer.clear();
    } else {
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(_remaining, _buffer.size()));
        out.append(_buffer, 0, take);
        _buffer.erase(0, take);
        _remaining -= take;
        if (_remaining == 0) _ended = true;
    }
    return out.size() > before;
}

void ResponseReader::closedMidBody() {
    if (!_untilClose) throw UpstreamError(UpstreamError::Kind::Closed, "connection closed mid-body");
    _ended = true;
}

bool ResponseReader::readBody(std::string& out, Clock::time_point deadline) {
    while (!_ended) {
        if (takeBuffered(out)) return true;
        if (_ended) break;
        if (fill(deadline) == 0) closedMidBody();
    }
    return false;
}

ResponseReader::Now ResponseReader::readBodyNow(std::string& out, Turn& turn) {
    while (!_ended) {
        if (takeBuffered(out)) return Now::Data;
        if (_ended) break;
        if (turn.drained) return Now::Wait;
        char chunk[kReadSize];
        const auto n = _connection.readNow(chunk, sizeof chunk);
        if (!n) return Now::Wait;
        _buffer.append(chunk, *n);
        if (*n == 0) closedMidBody();
        // Under TLS the layer may hold decrypted bytes no descriptor shows.
        turn.drained = *n < sizeof chunk && !_connection.secure();
    }
    return Now::End;
}

} // namespace sluice::kernel
