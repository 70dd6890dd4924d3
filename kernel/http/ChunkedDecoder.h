#pragma once
// Incremental decoder for HTTP/1.1 chunked transfer encoding: bytes go in as
// they arrive from the socket, payload comes out, and the decoder says when
// the terminating chunk and trailers have been read. Both directions use it:
// a backend's chunked answer and a client's chunked request body.
//
// Why not Poco's HTTPChunkedInputStream: after the last chunk it reads one
// line only, so a second trailer line was left on the connection and parsed
// as the next request (smuggling behind a proxy that shares connections),
// and a body cut off before its last chunk ended as if complete.

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::kernel {

class ChunkedDecoder {
public:
    // Consumes bytes from `input`, appending payload to `payload`. Returns how
    // many bytes were consumed: fewer than given only once done() or failed().
    std::size_t feed(std::string_view input, std::string& payload);

    bool done() const { return _state == State::Done; }
    bool failed() const { return _state == State::Failed; }
    // Payload bytes left in the current chunk, while inside one: that many
    // may be fed at once without reading past the body.
    std::uint64_t dataLeft() const { return _state == State::Data ? _remaining : 0; }
    const std::string& error() const { return _error; }

private:
    enum class State { Size, Extension, SizeLf, Data, DataCr, DataLf, Trailer, TrailerLf, Done, Failed };
    void fail(const char* why);

    State _state = State::Size;
    std::uint64_t _remaining = 0;
    int _sizeDigits = 0;
    std::size_t _lineLength = 0;    // bounds extension and trailer lines
    std::size_t _trailerBytes = 0;  // bounds the trailer section as a whole
    bool _lastChunk = false;
    std::string _error;
};

} // namespace sluice::kernel
