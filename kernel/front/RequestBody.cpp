#include "RequestBody.h"

#include <algorithm>
#include <string_view>

#include "ClientSession.h"

namespace sluice::kernel {

namespace {
constexpr std::size_t kPiece = 16384;
}

RequestBody::RequestBody(ClientSession& session, Framing framing, std::uint64_t length)
    : _session(session), _framing(framing), _left(framing == Framing::Length ? length : 0),
      _finished(framing == Framing::None || (framing == Framing::Length && length == 0)) {}

std::size_t RequestBody::read(char* buffer, std::size_t size) {
    if (_finished || _status != Status::Whole || size == 0) return 0;
    if (_framing == Framing::Chunked) return readChunked(buffer, size);
    const int n = _session.readSome(buffer, static_cast<std::streamsize>(std::min<std::uint64_t>(_left, size)));
    if (n <= 0) {
        _status = Status::Truncated;
        return 0;
    }
    _left -= static_cast<std::uint64_t>(n);
    _finished = _left == 0;
    return static_cast<std::size_t>(n);
}

std::size_t RequestBody::readChunked(char* buffer, std::size_t size) {
    // Feeds the decoder exactly what the body holds: a chunk's payload in
    // pieces no longer than what is left of it, the framing byte by byte, so
    // the bytes after the last chunk's trailers stay in the session.
    char piece[kPiece];
    while (_pendingAt == _pending.size() && !_decoder.done()) {
        _pending.clear();
        _pendingAt = 0;
        if (const auto inChunk = _decoder.dataLeft()) {
            const int n = _session.readSome(piece, static_cast<std::streamsize>(std::min<std::uint64_t>(inChunk, sizeof piece)));
            if (n <= 0) {
                _status = Status::Truncated;
                return 0;
            }
            _decoder.feed(std::string_view(piece, static_cast<std::size_t>(n)), _pending);
        } else {
            const int byte = _session.nextByte();
            if (byte == std::char_traits<char>::eof()) {
                _status = Status::Truncated;
                return 0;
            }
            const char c = static_cast<char>(byte);
            _decoder.feed(std::string_view(&c, 1), _pending);
        }
        if (_decoder.failed()) {
            _status = Status::Malformed;
            return 0;
        }
    }
    const auto take = std::min(size, _pending.size() - _pendingAt);
    std::copy_n(_pending.data() + _pendingAt, take, buffer);
    _pendingAt += take;
    if (_pendingAt == _pending.size() && _decoder.done()) _finished = true;
    return take;
}

RequestBody::Status RequestBody::readAll(std::string& out, std::size_t limit) { return consume(&out, limit); }

RequestBody::Status RequestBody::discard(std::size_t limit) { return consume(nullptr, limit); }

RequestBody::Status RequestBody::consume(std::string* out, std::size_t limit) {
    if (_framing == Framing::Length && _left > limit) return Status::TooLarge;
    char piece[kPiece];
    std::size_t taken = 0;
    while (!_finished && _status == Status::Whole) {
        const auto n = read(piece, sizeof piece);
        if (n == 0) break;
        taken += n;
        if (taken > limit) return Status::TooLarge;
        if (out) out->append(piece, n);
    }
    return _status;
}

} // namespace sluice::kernel
