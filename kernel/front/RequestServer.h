#pragma once
// The worker's half of a client connection: serves one request whose first
// bytes an I/O thread has read (front/IoThreads), with Poco's session and
// message classes, then hands the connection back. Keep-alive, Date,
// 100-continue, HEAD and a 500 for a handler's exception are done here; each
// head is read with ServerRequest instead of Poco's reader, whose fixed 8 KiB
// limit per header value turned long credentials into a bare 400. A head we
// refuse is answered in the client's protocol shape, and the connection closes.
// Thread: serve() on worker threads, each for one connection at a time.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>

#include "ServerRequest.h"

namespace Poco::Net {
class HTTPServerSession;
class StreamSocket;
}

namespace sluice::kernel {

// The whole of an answer the gateway gives before closing a connection: a
// refused head, a client past its connection cap, a head that came too
// slowly, no worker free. A JSON error in the shape of the protocol `uri`
// belongs to (Ollama's when unknown); no body when `head` (a HEAD request).
std::string closingAnswer(int status, const std::string& code, const std::string& message, const std::string& uri,
                          bool head = false, const std::vector<std::pair<std::string, std::string>>& headers = {});

// What the I/O thread knows of a request when it hands it to a worker.
struct Arrival {
    using Clock = std::chrono::steady_clock;
    std::string bytes;                        // of it, read so far (the head, maybe the body)
    Clock::time_point headDeadline;           // the head must be in by then (server.header_timeout_s)
    std::optional<Clock::time_point> headEnd;  // when its head was in, if the I/O thread saw that
    bool continued = false;                   // the I/O thread sent `100 Continue` already
};

// How a served request leaves its connection.
struct Served {
    enum class Next { KeepAlive, Close, LingerThenClose };
    Next next = Next::Close;
    std::string unread;  // bytes read past the request: the start of the next one
};

class RequestServer {
public:
    RequestServer(Poco::Net::HTTPServerParams::Ptr params, Poco::Net::HTTPRequestHandlerFactory::Ptr handlers,
                  const HeadLimits& limits);

    // A connection's session, made for its first request and kept for the
    // rest: Poco's session constructor sets the socket's receive time-out,
    // a system call per request when a session was made per request.
    std::unique_ptr<ClientSession> openSession(const Poco::Net::StreamSocket& socket, const ConnectionInfo& connection) const;
    // Serves the next request on `session`. Never throws: a failure closes the connection.
    Served serve(ClientSession& session, const ConnectionInfo& connection, Arrival arrival);

    const HeadLimits& limits() const { return _limits; }

private:
    bool serveOne(ClientSession& session, const ConnectionInfo& connection, const Arrival& arrival, bool& linger);
    void refuseHead(ClientSession& session, const RequestHeadError& error) const;
    RequestHeadError headTimedOut() const;

    Poco::Net::HTTPServerParams::Ptr _params;
    Poco::Net::HTTPRequestHandlerFactory::Ptr _handlers;
    HeadLimits _limits;
};

} // namespace sluice::kernel
