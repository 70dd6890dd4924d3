#pragma once
// One client connection: Poco's HTTPServerConnection loop (keep-alive, Date,
// 100-continue, 500 for a handler's exception), reading each request head
// with ServerRequest instead of Poco's reader, whose fixed 8 KiB limit per
// header value turned long credentials into a bare 400. A head we refuse is
// answered in the client's protocol shape, and the connection closes.
// Thread: run() on one pool thread per connection; the stop signal comes from another.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <Poco/BasicEvent.h>
#include <Poco/Mutex.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>

#include "ServerRequest.h"

namespace Poco::Net {
class HTTPServerSession;
}

namespace sluice::kernel {

class ClientSession;

// Reads and drops what a client is still sending, briefly and boundedly
// (2 s, 4 MiB), before its connection is closed after a refusal: closing a
// socket with unread bytes makes the kernel send a reset, which can destroy
// the answer before the client reads it.
void drainUnreadInput(Poco::Net::StreamSocket& socket);

// The stop signal to open connections (argument: abort busy ones too). Poco's
// own, HTTPRequestHandlerFactory::serverStopped, is open only to its friends
// HTTPServer and HTTPServerConnection.
using StopEvent = Poco::BasicEvent<const bool>;

class ServerConnection final : public Poco::Net::TCPServerConnection {
public:
    ServerConnection(const Poco::Net::StreamSocket& socket, Poco::Net::HTTPServerParams::Ptr params,
                     Poco::Net::HTTPRequestHandlerFactory::Ptr handlers, const HeadLimits& limits,
                     std::shared_ptr<StopEvent> stop, std::shared_ptr<void> place = nullptr);
    ~ServerConnection() override;

    void run() override;

private:
    // Serves one request. False: the connection must close.
    bool serveOne(ClientSession& session, const ConnectionInfo& connection);
    void refuseHead(Poco::Net::HTTPServerSession& session, const RequestHeadError& error);
    RequestHeadError headTimedOut() const;
    // Stop signal: an idle connection closes now, a busy one after its answer
    // (without waiting for it).
    void onServerStopped(const bool& abortCurrent);

    Poco::Net::HTTPServerParams::Ptr _params;
    Poco::Net::HTTPRequestHandlerFactory::Ptr _handlers;
    HeadLimits _limits;
    std::shared_ptr<StopEvent> _stop;
    std::shared_ptr<void> _place;  // the client address's place among its connections, if counted
    std::atomic<bool> _stopped{false};
    Poco::FastMutex _busy;  // Thread: held while a request is served; the stop signal tries it to tell idle from busy
};

// Open connections per client address, for server.max_connections_per_client.
// Thread: any.
class ClientConnections : public std::enable_shared_from_this<ClientConnections> {
public:
    // A place for one more connection from `client`, held until the returned
    // handle goes; null when `client` has `limit` open already.
    std::shared_ptr<void> enter(const std::string& client, std::size_t limit);

private:
    void leave(const std::string& client);

    std::mutex _mutex;
    std::map<std::string, std::size_t> _open;  // guarded by _mutex
};

// Makes a ServerConnection per accepted socket, for a Poco::Net::TCPServer.
// A client address past `maxPerClient` open connections gets a 429 and a
// close instead, so one address (a slowloris, a runaway script) cannot hold
// every connection thread. `exempt` names addresses never counted: the
// trusted proxies, through which many clients come.
class ServerConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
public:
    ServerConnectionFactory(Poco::Net::HTTPServerParams::Ptr params, Poco::Net::HTTPRequestHandlerFactory::Ptr handlers,
                            const HeadLimits& limits, std::size_t maxPerClient = 0,
                            std::function<bool(const Poco::Net::IPAddress&)> exempt = {});

    Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override;

    // Call after TCPServer::stop(), as Poco's HTTPServer::stopAll does: idle
    // keep-alive connections close at once, busy ones after their answer
    // (abortCurrent: busy ones are cut off too).
    void stopConnections(bool abortCurrent = false);

private:
    Poco::Net::HTTPServerParams::Ptr _params;
    Poco::Net::HTTPRequestHandlerFactory::Ptr _handlers;
    HeadLimits _limits;
    std::shared_ptr<StopEvent> _stop = std::make_shared<StopEvent>();
    std::size_t _maxPerClient;  // 0: no limit
    std::function<bool(const Poco::Net::IPAddress&)> _exempt;
    std::shared_ptr<ClientConnections> _clients = std::make_shared<ClientConnections>();
};

} // namespace sluice::kernel
