#pragma once
// A client connection's HTTP session, kept for its requests one after
// another: Poco's HTTPServerSession (buffering, the writes of the answer)
// over each request's bytes the I/O thread read already, then the socket.
//
// - readSome() and nextByte(): the session's buffered reads, which Poco opens
//   only to its own body streams. ServerRequest reads a head and
//   RequestBody a body through them byte-exactly, so a pipelined next
//   request is never taken as part of this one.
// - takeUnread(): what was read past the request, for the I/O thread to
//   start the next one with.
// - With an I/O thread (`parking`), a write that would wait parks the
//   request (ClientChannel::waitParked) instead of a thread, and so does a
//   read while the request runs on its I/O thread; plain or TLS (a TLS
//   socket on a worker is blocking, and its writes block there).
// Thread: one thread at a time (a worker, or the connection's I/O thread).

#include <chrono>
#include <string>
#include <string_view>

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerSession.h>

namespace sluice::kernel {

class ParkedRelays;

class ClientSession final : public Poco::Net::HTTPServerSession {
public:
    // `parking`: what parks this connection's waits (null: none).
    // `writeTimeout`: server.write_timeout_s, a write's longest wait without progress.
    ClientSession(const Poco::Net::StreamSocket& socket, const Poco::Net::HTTPServerParams::Ptr& params,
                  ParkedRelays* parking = nullptr, std::chrono::seconds writeTimeout = std::chrono::seconds(60));
    // Leaves the socket open: the connection closes it, in its own time
    // (Poco's session closes its socket when it goes).
    ~ClientSession() override;

    // Starts the next request: `received`, the bytes of it the I/O thread
    // has read, are read before the socket. What the last one left unread
    // was taken (takeUnread) and is in them.
    void begin(std::string received);

    // Up to `length` bytes: received and buffered ones first, else one receive. 0 at the end.
    int readSome(char* buffer, std::streamsize length) { return read(buffer, length); }
    // One byte (0-255), or std::char_traits<char>::eof() at the end. Not
    // Poco's get(), which widens a plain char: a 0xff byte read as eof() and
    // a chunked body with one in its framing looked cut off (found by
    // fuzz.chunked-decoder).
    // Refilled like get(), so framing bytes cost no receive each (read() of
    // one byte from an empty buffer would).
    int nextByte() {
        if (_receivedAt < _received.size()) return static_cast<unsigned char>(_received[_receivedAt++]);
        if (buffered() == 0) {
            if (onLoop()) return receiveMore() ? static_cast<unsigned char>(_received[_receivedAt++]) : std::char_traits<char>::eof();
            refill();  // Poco's, which blocks: never on an I/O thread
        }
        return buffered() > 0 ? static_cast<unsigned char>(get()) : std::char_traits<char>::eof();
    }

    // The bytes read and not taken by the request; the session holds none
    // after, and no memory for them either (heldBytes() is 0).
    std::string takeUnread();
    // Memory the session holds for request bytes: none between requests.
    std::size_t heldBytes() const {
        const std::size_t inside = std::string().capacity();  // the room a string has in itself
        return _received.capacity() > inside ? _received.capacity() : 0;
    }
    // Writes all of `bytes` (an answer made outside Poco's response).
    void sendAll(std::string_view bytes) { write(bytes.data(), static_cast<std::streamsize>(bytes.size())); }

protected:
    int read(char* buffer, std::streamsize length) override;
    int write(const char* buffer, std::streamsize length) override;

private:
    bool onLoop() const;
    // On the I/O thread: one receive into `_received`, parked until bytes
    // come. False at the end.
    bool receiveMore();
    int receiveParked(char* buffer, std::size_t length);

    std::string _received;
    std::size_t _receivedAt = 0;
    bool _keepAlive;  // the server's keep-alive setting, each request's start
    ParkedRelays* _parking;
    std::chrono::seconds _writeTimeout;
};

} // namespace sluice::kernel
