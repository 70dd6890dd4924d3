#pragma once
// Reads one HTTP/1.1 response from an upstream connection: the head, then the
// body piece by piece as it arrives, whatever its framing (Content-Length,
// chunked, or until close).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../http/ChunkedDecoder.h"
#include "UpstreamConnection.h"

namespace sluice::kernel {

struct ResponseHead {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
    std::optional<std::uint64_t> contentLength;
    bool chunked = false;
    bool keepAlive = true;

    const std::string* header(const std::string& lowerCaseName) const;
};

// Parses a response head from `bytes`. Returns the head's length in bytes,
// or 0 if the head is not complete yet. Throws UpstreamError(Protocol).
std::size_t parseResponseHead(std::string_view bytes, ResponseHead& head);

class ResponseReader {
public:
    // `parkVia`: long waits park the request (UpstreamConnection::readSome).
    ResponseReader(UpstreamConnection& connection, int clientFd, ClientChannel* parkVia = nullptr)
        : _connection(connection), _clientFd(clientFd), _parkVia(parkVia) {}

    // Reads until the head is complete. Throws UpstreamError.
    const ResponseHead& readHead(Clock::time_point deadline, bool headRequest = false);
    // Appends the next body bytes to `out`. Returns false once the body has
    // ended cleanly (nothing appended then). Throws UpstreamError when the
    // body breaks off, or Timeout when nothing arrives by `deadline`.
    bool readBody(std::string& out, Clock::time_point deadline);
    // readBody that never waits (plain connections): Data appended, the
    // body's clean End, or Wait: nothing more until the socket is readable.
    enum class Now { Data, End, Wait };
    // One per wake-up of the loop that reads. A receive shorter than asked
    // took all the socket had: the turn receives no more (Wait), and the
    // loop's epoll, level-triggered, wakes it again if more came meanwhile.
    // One receive per frame, where a second found nothing (EAGAIN) each time.
    struct Turn {
        bool drained = false;
    };
    Now readBodyNow(std::string& out, Turn& turn);
    // Whether the whole response was read, nothing extra came with it, and the
    // connection may serve another.
    bool reusable() const { return _ended && _head.keepAlive && _buffer.empty(); }
    // Whether the body ends only when the backend closes (HTTP/1.0 style): then
    // a close is no proof the answer was complete.
    bool closeDelimited() const { return _untilClose; }
    // Whether any byte of an answer arrived.
    bool receivedAny() const { return _receivedAny; }
    const ResponseHead& head() const { return _head; }

private:
    std::size_t fill(Clock::time_point deadline);
    // Moves the body bytes _buffer holds to `out`: true when some moved.
    bool takeBuffered(std::string& out);
    // After the connection closed: the end of a body read until close, else a break.
    void closedMidBody();

    UpstreamConnection& _connection;
    int _clientFd;
    ClientChannel* _parkVia;
    ResponseHead _head;
    std::string _buffer;  // received, not yet consumed
    ChunkedDecoder _decoder;
    std::uint64_t _remaining = 0;
    bool _untilClose = false;
    bool _ended = false;
    bool _receivedAny = false;
};

} // namespace sluice::kernel
