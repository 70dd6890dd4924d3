#include "RequestServer.h"

#include <ctime>
#include <memory>
#include <optional>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timestamp.h>

#include "ClientSession.h"
#include "../dialect/ErrorBody.h"
#include "FrontHandler.h"
#include "ReadDeadlines.h"
#include "RouteTable.h"
#include "ServerResponse.h"

namespace sluice::kernel {

namespace {
// The Date field's value (RFC 9110 5.6.7), formatted once a second on each
// thread: Poco's formatter took 3,000 instructions an answer.
const std::string& httpDate() {
    thread_local std::time_t formattedAt = -1;
    thread_local std::string text;
    const auto now = std::time(nullptr);
    if (now != formattedAt) {
        text = Poco::DateTimeFormatter::format(Poco::Timestamp::fromEpochTime(now), Poco::DateTimeFormat::HTTP_FORMAT);
        formattedAt = now;
    }
    return text;
}
} // namespace

std::string closingAnswer(int status, const std::string& code, const std::string& message, const std::string& uri,
                          bool head, const std::vector<std::pair<std::string, std::string>>& headers) {
    const auto body = errorBody(protocolOf(uri), status, message, code);
    std::string answer = "HTTP/1.1 " + std::to_string(status) + " " +
                         Poco::Net::HTTPResponse::getReasonForStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status)) +
                         "\r\nDate: " + httpDate() +
                         "\r\nX-Request-ID: " + chooseRequestId(nullptr) + "\r\n";
    for (const auto& [name, value] : headers) answer += name + ": " + value + "\r\n";
    answer += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\nConnection: close\r\n\r\n";
    if (!head) answer += body;
    return answer;
}

namespace {
using Poco::Net::HTTPResponse;

// An error answer outside any handler; the connection closes after it.
void sendError(ClientSession& session, int status, const std::string& code, const std::string& message,
               const std::string& method, const std::string& uri) {
    session.sendAll(closingAnswer(status, code, message, uri, method == Poco::Net::HTTPRequest::HTTP_HEAD));
    session.setKeepAlive(false);
}
} // namespace

RequestServer::RequestServer(Poco::Net::HTTPServerParams::Ptr params, Poco::Net::HTTPRequestHandlerFactory::Ptr handlers,
                             const HeadLimits& limits)
    : _params(std::move(params)), _handlers(std::move(handlers)), _limits(limits) {
    poco_check_ptr(_handlers);
}

std::unique_ptr<ClientSession> RequestServer::openSession(const Poco::Net::StreamSocket& socket,
                                                         const ConnectionInfo& connection) const {
    // The requests' waits for their client park (ClientSession).
    return std::make_unique<ClientSession>(socket, _params, connection.relays, _limits.writeTimeout);
}

Served RequestServer::serve(ClientSession& session, const ConnectionInfo& connection, Arrival arrival) {
    Served served;  // Close, unless the request ends in a way that keeps the connection
    try {
        session.begin(std::move(arrival.bytes));
        bool linger = false;
        if (!serveOne(session, connection, arrival, linger)) {
            // After a refusal the I/O thread ends our side, then reads and
            // drops what still comes before it closes.
            if (linger) served.next = Served::Next::LingerThenClose;
            return served;
        }
        served.next = Served::Next::KeepAlive;
        served.unread = session.takeUnread();
    } catch (const Poco::Exception& e) {
        Poco::Logger::get("sluice.kernel").debug("a client connection ended: %s", e.displayText());
    } catch (const std::exception& e) {
        Poco::Logger::get("sluice.kernel").error("a request failed: %s", std::string(e.what()));
    } catch (...) {
        Poco::Logger::get("sluice.kernel").error("a request failed");
    }
    return served;
}

bool RequestServer::serveOne(ClientSession& session, const ConnectionInfo& connection, const Arrival& arrival,
                             bool& linger) {
    // Ownership: both live until the request is answered; the request refers to the response.
    ServerResponse response(session);
    std::optional<ServerRequest> request;
    // The head's first byte is here: all of it must follow in time. When the
    // I/O thread saw the head's end, all of it is in `arrival` and no read
    // of the head can wait: no deadline to watch (arming one costs a lock).
    auto headDeadline = arrival.headEnd ? ReadDeadlines::Guard{}
                                        : ReadDeadlines::instance().arm(session.socket().impl()->sockfd(), arrival.headDeadline);
    try {
        request.emplace(response, session, _params.get(), _limits, connection, arrival.headEnd);
        headDeadline.disarm();
    } catch (const Poco::Net::NoMessageException&) {
        headDeadline.disarm();
        if (headDeadline.fired()) refuseHead(session, headTimedOut());
        linger = headDeadline.fired();
        return false;  // else the client closed the connection between requests
    } catch (const RequestHeadError& error) {
        headDeadline.disarm();
        refuseHead(session, headDeadline.fired() ? headTimedOut() : error);
        linger = true;
        return false;
    } catch (const Poco::Exception&) {
        headDeadline.disarm();
        if (!headDeadline.fired()) throw;
        refuseHead(session, headTimedOut());
        linger = true;
        return false;
    }

    // Poco's own HTTPServerResponseImpl learns of HEAD through attachRequest,
    // which only takes its own request type; ServerResponse is told here, so a
    // HEAD answer carries headers only and the connection can stay open.
    response.setHeadRequest(request->getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD);
    response.add("Date", httpDate());  // a fresh response: nothing to replace
    response.setVersion(request->getVersion());
    response.setKeepAlive(_params->getKeepAlive() && request->getKeepAlive());
    if (!_params->getSoftwareVersion().empty()) response.set("Server", _params->getSoftwareVersion());
    try {
        std::unique_ptr<Poco::Net::HTTPRequestHandler> handler(_handlers->createRequestHandler(*request));
        if (!handler) {
            sendError(session, 501, "not_implemented", "not implemented", request->getMethod(), request->getURI());
            return false;
        }
        if (request->getExpectContinue() && !arrival.continued && response.getStatus() == HTTPResponse::HTTP_OK)
            response.sendContinue();
        handler->handleRequest(*request, response);
        linger = request->lingersBeforeClose();
        // A body not read to its end would be parsed as the next request:
        // such a connection never carries another (the handler settles the
        // body before it answers; this is the guard if one did not).
        return _params->getKeepAlive() && response.getKeepAlive() && request->body().finished() && !linger;
    } catch (...) {
        // The handler failed before answering: answer for it, then let the
        // connection end (serve() reports the exception).
        if (!response.sent()) {
            try {
                sendError(session, 500, "internal_error", "internal error", request->getMethod(), request->getURI());
            } catch (...) {
            }
        }
        throw;
    }
}

RequestHeadError RequestServer::headTimedOut() const {
    return RequestHeadError(408, "request_timeout",
                            "the request head did not arrive within " + std::to_string(_limits.headTimeout.count()) + " s");
}

void RequestServer::refuseHead(ClientSession& session, const RequestHeadError& error) const {
    std::string peer;
    try {
        peer = session.clientAddress().toString();
    } catch (const Poco::Exception&) {
        peer = "a client";
    }
    Poco::Logger::get("sluice.kernel").information("refused a request head from %s: %d %s", peer, error.status(),
                                                   std::string(error.what()));
    try {
        sendError(session, error.status(), error.code(), error.what(), error.method(), error.uri());
    } catch (const Poco::Exception&) {
        // the client is gone
    }
}

} // namespace sluice::kernel
