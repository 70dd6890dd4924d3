#pragma once
// A client connection's HTTP session: Poco's HTTPServerSession (buffering,
// keep-alive accounting) with two things Poco keeps to its friends.
//
// - nextRequest(): the wait for a keep-alive connection's next request done
//   by one poll(2). Poco's own (hasMoreRequests) goes through Socket::poll,
//   which on Linux creates, fills and closes an epoll instance every time:
//   four system calls per request where one does.
// - readSome() and nextByte(): the session's buffered reads, which Poco opens
//   only to its own body streams. ServerRequest reads a head and
//   RequestBody a body through them byte-exactly, so the next pipelined
//   request stays in the buffer.
// Thread: one connection thread.

#include <string>

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerSession.h>

namespace sluice::kernel {

class ClientSession final : public Poco::Net::HTTPServerSession {
public:
    ClientSession(const Poco::Net::StreamSocket& socket, const Poco::Net::HTTPServerParams::Ptr& params, bool secure);

    // Waits for the next request's first byte within the keep-alive time-out.
    // False: the connection must close (time-out, keep-alive off, closed).
    bool nextRequest();

    // Up to `length` bytes: buffered ones first, else one receive. 0 at the end.
    int readSome(char* buffer, std::streamsize length) { return read(buffer, length); }
    // One byte (0-255), or std::char_traits<char>::eof() at the end. Not
    // Poco's get(), which widens a plain char: a 0xff byte read as eof() and
    // a chunked body with one in its framing looked cut off (found by
    // fuzz.chunked-decoder).
    // Refilled like get(), so framing bytes cost no receive each (read() of
    // one byte from an empty buffer would).
    int nextByte() {
        if (buffered() == 0) refill();
        return buffered() > 0 ? static_cast<unsigned char>(get()) : std::char_traits<char>::eof();
    }

private:
    const int _keepAliveMillis;
    const bool _secure;
    bool _first = true;
};

} // namespace sluice::kernel
