#pragma once
// One client request (front/RequestServer), its head read by Sluice itself.
//
// Why our own head reader: Poco's HTTPServerRequestImpl reads the head with
// MessageHeader::read, whose limit per header value is a fixed 8 KiB (a
// private enum, MAX_VALUE_LENGTH = 8192). A longer value - a long API key or
// bearer token - made Poco answer a bare 400 before any handler ran, so the
// auth stage could not give its 401 and no answer was in the client's shape.
// Here the limits are ours (`server.max_header_bytes`), and a head we refuse
// raises RequestHeadError for the connection to answer in the client's shape.
// The bytes come straight from the session's buffer, not through Poco's
// header stream, which read a 0xff byte (obs-text) as its end of input.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <Poco/AutoPtr.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/SocketAddress.h>

#include "RequestBody.h"
#include "http/ClientChannel.h"

namespace Poco::Net {
class StreamSocket;
}

namespace sluice::kernel {

class ClientSession;
class ServerResponse;

// What a request head may hold, and how long a request may take to arrive.
struct HeadLimits {
    std::size_t maxRequestLine = 16 * 1024;  // the request line, without its line end
    std::size_t maxHeaderBytes = 65536;      // all header lines together, line ends included
    std::size_t maxFields = 100;             // Poco's own default
    std::chrono::seconds headTimeout{10};    // server.header_timeout_s: the whole head, from its first byte
    std::chrono::seconds bodyTimeout{60};    // server.body_timeout_s: the whole body
    std::chrono::seconds writeTimeout{60};   // server.write_timeout_s: a client that takes no byte of its answer for this long is cut off
};

// A request head the server refuses; the connection answers `status` and closes.
class RequestHeadError : public std::runtime_error {
public:
    RequestHeadError(int status, std::string code, const std::string& message, std::string method = {}, std::string uri = {})
        : std::runtime_error(message), _status(status), _code(std::move(code)), _method(std::move(method)), _uri(std::move(uri)) {}

    int status() const { return _status; }              // 400 malformed, 414 request line, 431 too large, 501 coding
    const std::string& code() const { return _code; }   // the error code in the answer's body
    const std::string& method() const { return _method; }  // empty when the request line was not read
    const std::string& uri() const { return _uri; }        // picks the answer's protocol shape

private:
    int _status;
    std::string _code;
    std::string _method;
    std::string _uri;
};

// What parks a request on the client's connection, its I/O thread
// (front/IoThreads): the far end of ClientChannel's relayParked,
// waitParked, servedOnLoop and offLoop, which say what each does.
class ParkedRelays {
public:
    virtual bool relayParked(StreamPump& pump) = 0;
    virtual std::optional<WaitEnd> waitParked(int fd, Await what, std::chrono::steady_clock::time_point deadline) = 0;
    virtual bool servedOnLoop() const = 0;
    virtual void offLoop(const std::function<void()>& work) = 0;

protected:
    ~ParkedRelays() = default;
};

// What a connection knows of itself, read once when it opens.
struct ConnectionInfo {
    Poco::Net::SocketAddress peer;  // as accept(2) gave it
    bool secure = false;
    ParkedRelays* relays = nullptr;  // null: a stream's rest is relayed by its worker
};

class ServerRequest final : public Poco::Net::HTTPServerRequest {
public:
    // Reads the head and the body's framing. Throws Poco::Net::NoMessageException when the client closed before
    // sending anything, RequestHeadError for a head it refuses, and Poco's
    // network exceptions (time-out, reset) as they come.
    // Ownership: response and session outlive the request (RequestServer::serveOne).
    // `headEnd`: when the head was in, if the I/O thread saw it (the body's
    // deadline counts from then); else from when this reads it.
    ServerRequest(ServerResponse& response, ClientSession& session, Poco::Net::HTTPServerParams* params,
                  const HeadLimits& limits, const ConnectionInfo& connection,
                  std::optional<std::chrono::steady_clock::time_point> headEnd = std::nullopt);
    ~ServerRequest() override;

    // The body as a stream (Poco's interface); body() tells how it ended.
    std::istream& stream() override { return *_stream; }
    RequestBody& body() { return *_body; }
    const Poco::Net::SocketAddress& clientAddress() const override { return _clientAddress; }
    // Asked of the socket when first wanted (nothing in the gateway does):
    // a getsockname(2) per connection saved.
    const Poco::Net::SocketAddress& serverAddress() const override;
    const Poco::Net::HTTPServerParams& serverParams() const override { return *_params; }
    Poco::Net::HTTPServerResponse& response() const override;
    // Whether it came over TLS (server.tls.*).
    bool secure() const override { return _secure; }

    // The client's socket (the front's stream watch and the linger after a refusal use it).
    Poco::Net::StreamSocket& socket();
    // When the body must be in (server.body_timeout_s after the head).
    std::chrono::steady_clock::time_point bodyDeadline() const { return _bodyDeadline; }

    // After a refusal whose body was not read: the connection closes after
    // reading and dropping what the client still sends, briefly and
    // boundedly (the I/O thread does it), as closing a socket with unread
    // bytes makes the kernel send a reset that can destroy the answer.
    void lingerBeforeClose() { _linger = true; }
    bool lingersBeforeClose() const { return _linger; }
    // What can relay a stream's rest without this request's thread, if anything.
    ParkedRelays* parkedRelays() const { return _relays; }

private:
    void readHead(const HeadLimits& limits);
    void checkFraming();

    std::chrono::steady_clock::time_point _bodyDeadline;
    bool _secure = false;
    bool _linger = false;
    ParkedRelays* _relays = nullptr;

    ServerResponse& _response;
    ClientSession& _session;
    Poco::AutoPtr<Poco::Net::HTTPServerParams> _params;
    std::optional<RequestBody> _body;  // set once the head is read
    std::unique_ptr<std::streambuf> _streamBuffer;
    std::unique_ptr<std::istream> _stream;
    Poco::Net::SocketAddress _clientAddress;
    mutable std::optional<Poco::Net::SocketAddress> _serverAddress;
};

} // namespace sluice::kernel
