#include "ServerConnection.h"

#include <chrono>
#include <memory>
#include <optional>


#include <Poco/Delegate.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureStreamSocketImpl.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timestamp.h>

#include "ClientSession.h"
#include "../dialect/ErrorBody.h"
#include "FrontHandler.h"
#include "ReadDeadlines.h"
#include "RouteTable.h"
#include "ServerResponse.h"

namespace sluice::kernel {

void drainUnreadInput(Poco::Net::StreamSocket& socket) {
    try {
        socket.setReceiveTimeout(Poco::Timespan(0, 100000));
        char sink[16384];
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        for (std::size_t drained = 0; drained < 4 * 1024 * 1024 && std::chrono::steady_clock::now() < deadline;) {
            const int n = socket.receiveBytes(sink, sizeof sink);
            if (n <= 0) break;
            drained += static_cast<std::size_t>(n);
        }
    } catch (const Poco::Exception&) {
        // A time-out or a reset: the client has its answer or is gone.
    }
}

namespace {
using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerSession;

// An error answer outside any handler; the connection closes after it.
void sendError(HTTPServerSession& session, const Poco::Net::HTTPServerParams& params, int status, const std::string& code,
               const std::string& message, const std::string& method, const std::string& uri,
               const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    ServerResponse response(session);
    response.setHeadRequest(method == Poco::Net::HTTPRequest::HTTP_HEAD);
    response.setVersion(HTTPResponse::HTTP_1_1);
    response.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(status));
    response.setDate(Poco::Timestamp());
    response.setKeepAlive(false);
    if (!params.getSoftwareVersion().empty()) response.set("Server", params.getSoftwareVersion());
    response.set("X-Request-ID", chooseRequestId(nullptr));
    for (const auto& [name, value] : headers) response.set(name, value);
    response.setContentType("application/json");
    const auto body = errorBody(protocolOf(uri), status, message, code);
    response.sendBuffer(body.data(), body.size());
    session.setKeepAlive(false);
}

// After a refused head the rest of it (and any body) may still be on its
// way: end our side, then drain, so the answer is not lost to a reset.
void drainBeforeClose(Poco::Net::StreamSocket& socket) {
    try {
        socket.shutdownSend();
    } catch (const Poco::Exception&) {
        return;  // the client is gone
    }
    drainUnreadInput(socket);
}
} // namespace

ServerConnection::ServerConnection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
                                   Poco::Net::HTTPRequestHandlerFactory::Ptr handlers, const HeadLimits& limits,
                                   std::shared_ptr<StopEvent> stop, std::shared_ptr<void> place)
    : TCPServerConnection(socket), _params(std::move(params)), _handlers(std::move(handlers)), _limits(limits),
      _stop(std::move(stop)), _place(std::move(place)) {
    *_stop += Poco::delegate(this, &ServerConnection::onServerStopped);
}

ServerConnection::~ServerConnection() {
    try {
        *_stop -= Poco::delegate(this, &ServerConnection::onServerStopped);
    } catch (...) {
    }
}


void ServerConnection::run() {
    const bool secure = dynamic_cast<Poco::Net::SecureStreamSocketImpl*>(socket().impl()) != nullptr;
    ClientSession session(socket(), _params, secure);
    // The peer and our end do not change for a connection: read them once.
    ConnectionInfo connection;
    try {
        connection = {socket().peerAddress(), socket().address(), secure};
        // Poco sets no send time-out on a server's sockets: a client that
        // stops reading held its thread, the backend's connection and its
        // limits lease for as long as it liked. A send that moves no byte
        // for this long fails; the relay then aborts the upstream.
        socket().setSendTimeout(Poco::Timespan(_limits.writeTimeout.count(), 0));
    } catch (const Poco::Exception&) {
        return;  // gone before its first request
    }
    while (!_stopped && session.nextRequest()) {
        Poco::FastMutex::ScopedLock lock(_busy);
        if (_stopped || !serveOne(session, connection)) break;
    }
}

bool ServerConnection::serveOne(ClientSession& session, const ConnectionInfo& connection) {
    // Ownership: both live until the request is answered; the request refers to the response.
    ServerResponse response(session);
    std::optional<ServerRequest> request;
    // The head's first byte is here (hasMoreRequests saw it): all of it must follow in time.
    auto headDeadline = ReadDeadlines::instance().arm(socket().impl()->sockfd(), ReadDeadlines::Clock::now() + _limits.headTimeout);
    try {
        request.emplace(response, session, _params, _limits, connection);
        headDeadline.disarm();
    } catch (const Poco::Net::NoMessageException&) {
        headDeadline.disarm();
        if (headDeadline.fired()) refuseHead(session, headTimedOut());
        return false;  // else the client closed the connection between requests
    } catch (const RequestHeadError& error) {
        headDeadline.disarm();
        refuseHead(session, headDeadline.fired() ? headTimedOut() : error);
        return false;
    } catch (const Poco::Exception&) {
        headDeadline.disarm();
        if (!headDeadline.fired()) throw;
        refuseHead(session, headTimedOut());
        return false;
    }

    // Poco's own HTTPServerResponseImpl learns of HEAD through attachRequest,
    // which only takes its own request type; ServerResponse is told here, so a
    // HEAD answer carries headers only and the connection can stay open.
    response.setHeadRequest(request->getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD);
    response.setDate(Poco::Timestamp());
    response.setVersion(request->getVersion());
    response.setKeepAlive(_params->getKeepAlive() && request->getKeepAlive() && session.canKeepAlive());
    if (!_params->getSoftwareVersion().empty()) response.set("Server", _params->getSoftwareVersion());
    try {
        std::unique_ptr<Poco::Net::HTTPRequestHandler> handler(_handlers->createRequestHandler(*request));
        if (!handler) {
            sendError(session, *_params, 501, "not_implemented", "not implemented", request->getMethod(), request->getURI());
            return false;
        }
        if (request->getExpectContinue() && response.getStatus() == HTTPResponse::HTTP_OK) response.sendContinue();
        handler->handleRequest(*request, response);
        // A body not read to its end would be parsed as the next request:
        // such a connection never carries another (the handler settles the
        // body before it answers; this is the guard if one did not).
        session.setKeepAlive(_params->getKeepAlive() && response.getKeepAlive() && session.canKeepAlive() &&
                             request->body().finished());
        return true;
    } catch (...) {
        // The handler failed before answering: answer for it, then let the
        // connection end (TCPServerConnection::start reports the exception).
        if (!response.sent()) {
            try {
                sendError(session, *_params, 500, "internal_error", "internal error", request->getMethod(), request->getURI());
            } catch (...) {
            }
        }
        throw;
    }
}

RequestHeadError ServerConnection::headTimedOut() const {
    return RequestHeadError(408, "request_timeout",
                            "the request head did not arrive within " + std::to_string(_limits.headTimeout.count()) + " s");
}

void ServerConnection::refuseHead(HTTPServerSession& session, const RequestHeadError& error) {
    std::string peer;
    try {
        peer = session.clientAddress().toString();
    } catch (const Poco::Exception&) {
        peer = "a client";
    }
    Poco::Logger::get("sluice.kernel").information("refused a request head from %s: %d %s", peer, error.status(),
                                                   std::string(error.what()));
    try {
        sendError(session, *_params, error.status(), error.code(), error.what(), error.method(), error.uri());
    } catch (const Poco::Exception&) {
        return;  // the client is gone
    }
    drainBeforeClose(session.socket());
}

void ServerConnection::onServerStopped(const bool& abortCurrent) {
    _stopped = true;
    // Shutting the socket down wakes an idle keep-alive wait at once. A busy
    // connection is left to finish its answer (run() sees _stopped after it
    // and closes) unless the stop aborts it; never waited for here, so one
    // long stream cannot hold up the stop of all the others.
    const bool idle = _busy.tryLock();
    if (idle || abortCurrent) {
        try {
            socket().shutdown();
        } catch (...) {
        }
    }
    if (idle) _busy.unlock();
}

std::shared_ptr<void> ClientConnections::enter(const std::string& client, std::size_t limit) {
    {
        std::lock_guard lock(_mutex);
        auto& open = _open[client];
        if (open >= limit) return nullptr;
        ++open;
    }
    // Points at this object only to be non-null; the deleter gives the place back.
    return std::shared_ptr<void>(static_cast<void*>(this), [self = shared_from_this(), client](void*) { self->leave(client); });
}

void ClientConnections::leave(const std::string& client) {
    std::lock_guard lock(_mutex);
    auto it = _open.find(client);
    if (it != _open.end() && --it->second == 0) _open.erase(it);
}

namespace {

// One more connection than its address may have: told so, then closed. No
// request is read, so the answer is a JSON error in Ollama's shape (OpenAI
// clients read the status), sent and drained as a refused head is.
class RefusedConnection final : public Poco::Net::TCPServerConnection {
public:
    RefusedConnection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params)
        : TCPServerConnection(socket), _params(std::move(params)) {}
    void run() override {
        HTTPServerSession session(socket(), _params);
        try {
            socket().setSendTimeout(Poco::Timespan(1, 0));
            sendError(session, *_params, 429, "too_many_connections", "too many connections from this address", "", "",
                      {{"Retry-After", "1"}});
        } catch (const Poco::Exception&) {
            return;  // the client is gone
        }
        drainBeforeClose(socket());
    }

private:
    Poco::Net::HTTPServerParams::Ptr _params;
};

} // namespace

ServerConnectionFactory::ServerConnectionFactory(Poco::Net::HTTPServerParams::Ptr params,
                                                 Poco::Net::HTTPRequestHandlerFactory::Ptr handlers, const HeadLimits& limits,
                                                 std::size_t maxPerClient,
                                                 std::function<bool(const Poco::Net::IPAddress&)> exempt)
    : _params(std::move(params)), _handlers(std::move(handlers)), _limits(limits), _maxPerClient(maxPerClient),
      _exempt(std::move(exempt)) {
    poco_check_ptr(_handlers);
}

Poco::Net::TCPServerConnection* ServerConnectionFactory::createConnection(const Poco::Net::StreamSocket& socket) {
    if (_maxPerClient == 0) return new ServerConnection(socket, _params, _handlers, _limits, _stop);
    Poco::Net::IPAddress peer;
    try {
        peer = socket.peerAddress().host();
    } catch (const Poco::Exception&) {
        return new RefusedConnection(socket, _params);  // gone already
    }
    if (_exempt && _exempt(peer)) return new ServerConnection(socket, _params, _handlers, _limits, _stop);
    auto place = _clients->enter(peer.toString(), _maxPerClient);
    if (!place) return new RefusedConnection(socket, _params);
    return new ServerConnection(socket, _params, _handlers, _limits, _stop, std::move(place));
}

void ServerConnectionFactory::stopConnections(bool abortCurrent) {
    const bool abort = abortCurrent;
    _stop->notify(this, abort);
}

} // namespace sluice::kernel
