#pragma once
// A client request's body, read by its framing (RFC 9112 6.3) and never past
// it: a Content-Length, a chunked body with its trailers, or none at all.
//
// Every way a body can end wrong is told apart, so nothing incomplete reaches
// a backend and the connection is only reused when the body's end was read:
// a body cut off before its length or its last chunk is Truncated, a broken
// chunk is Malformed. A request with neither header has no body (a request
// is never delimited by the close).
// Thread: one connection thread.

#include <cstdint>
#include <string>

#include "../http/ChunkedDecoder.h"

namespace sluice::kernel {

class ClientSession;

class RequestBody {
public:
    enum class Framing { None, Length, Chunked };
    enum class Status { Whole, TooLarge, Truncated, Malformed };

    RequestBody(ClientSession& session, Framing framing, std::uint64_t length);

    // Appends the whole body to `out` if it is at most `limit` bytes. TooLarge
    // leaves the rest unread; a declared length past the limit reads nothing.
    Status readAll(std::string& out, std::size_t limit);

    // Reads and drops what is left, up to `limit` bytes: Whole when the end
    // was reached. A declared length past the limit reads nothing.
    Status discard(std::size_t limit);

    // Up to `size` payload bytes into `buffer`; 0 at the end or on a failure
    // (status() tells which).
    std::size_t read(char* buffer, std::size_t size);

    // True once the body's end was read (or there was none).
    bool finished() const { return _status == Status::Whole && _finished; }
    Status status() const { return _status; }
    // Why a chunked body was Malformed.
    const std::string& error() const { return _decoder.error(); }
    // Bytes the body still declares (Length framing); 0 otherwise.
    std::uint64_t declaredLeft() const { return _framing == Framing::Length ? _left : 0; }

private:
    std::size_t readChunked(char* buffer, std::size_t size);
    // readAll() into `out`, or discard() when it is null.
    Status consume(std::string* out, std::size_t limit);

    ClientSession& _session;
    Framing _framing;
    std::uint64_t _left;  // Length: bytes still to read
    ChunkedDecoder _decoder;
    std::string _pending;  // chunked payload decoded and not yet taken
    std::size_t _pendingAt = 0;
    Status _status = Status::Whole;
    bool _finished = false;
};

} // namespace sluice::kernel
