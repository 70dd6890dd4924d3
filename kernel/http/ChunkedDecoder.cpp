#include "ChunkedDecoder.h"

#include <algorithm>

namespace sluice::kernel {

namespace {
constexpr std::size_t kMaxLine = 4096;
constexpr std::size_t kMaxTrailer = 16 * 1024;  // all trailer lines together

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
} // namespace

void ChunkedDecoder::fail(const char* why) {
    _state = State::Failed;
    _error = why;
}

std::size_t ChunkedDecoder::feed(std::string_view input, std::string& payload) {
    std::size_t i = 0;
    while (i < input.size() && _state != State::Done && _state != State::Failed) {
        const char c = input[i];
        switch (_state) {
        case State::Size: {
            const int digit = hexValue(c);
            if (digit >= 0) {
                if (++_sizeDigits > 15) return fail("chunk size too large"), i;
                _remaining = _remaining * 16 + static_cast<std::uint64_t>(digit);
                ++i;
            } else if (_sizeDigits == 0) {
                return fail("chunk size is not hexadecimal"), i;
            } else if (c == ';' || c == ' ' || c == '\t') {
                _state = State::Extension;
                _lineLength = 0;
                ++i;
            } else if (c == '\r') {
                _state = State::SizeLf;
                ++i;
            } else if (c == '\n') {
                _state = State::SizeLf;  // tolerate a bare LF
            } else {
                return fail("bad character in chunk size"), i;
            }
            break;
        }
        case State::Extension:
            if (c == '\n' || c == '\r') { _state = State::SizeLf; if (c == '\r') ++i; break; }
            if (++_lineLength > kMaxLine) return fail("chunk extension too long"), i;
            ++i;
            break;
        case State::SizeLf:
            if (c != '\n') return fail("chunk size line not ended by LF"), i;
            ++i;
            _sizeDigits = 0;
            if (_remaining == 0) {
                _lastChunk = true;
                _state = State::Trailer;
                _lineLength = 0;
            } else {
                _state = State::Data;
            }
            break;
        case State::Data: {
            const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(_remaining, input.size() - i));
            payload.append(input.data() + i, take);
            i += take;
            _remaining -= take;
            if (_remaining == 0) _state = State::DataCr;
            break;
        }
        case State::DataCr:
            if (c == '\r') { _state = State::DataLf; ++i; }
            else if (c == '\n') { _state = State::DataLf; }
            else return fail("chunk data not followed by CRLF"), i;
            break;
        case State::DataLf:
            if (c != '\n') return fail("chunk data not followed by CRLF"), i;
            ++i;
            _state = State::Size;
            break;
        case State::Trailer:
            // Trailer lines are read and dropped; an empty line ends the message.
            if (c == '\r') { _state = State::TrailerLf; ++i; break; }
            if (c == '\n') { _state = State::TrailerLf; break; }
            if (++_lineLength > kMaxLine || ++_trailerBytes > kMaxTrailer) return fail("trailer too long"), i;
            ++i;
            break;
        case State::TrailerLf:
            if (c != '\n') return fail("trailer line not ended by LF"), i;
            ++i;
            _state = _lineLength == 0 ? State::Done : State::Trailer;
            _lineLength = 0;
            break;
        case State::Done:
        case State::Failed:
            break;
        }
    }
    return i;
}

} // namespace sluice::kernel
