#pragma once
// The front's I/O threads (server.io_threads, one per core by default). Each
// runs an event loop (net/EventLoop) that owns its client connections while
// no request is being served on them:
//
// - accepting them, and refusing one past server.max_connections_per_client;
// - the wait of an idle keep-alive connection (server.keep_alive_s);
// - reading a request's head and body as they arrive, under
//   server.header_timeout_s (408 from the loop) and server.body_timeout_s;
// - the linger after a refusal (reading and dropping what the client still
//   sends, so the close does not reset the answer away).
//
// Once a request is all in, the loop serves it in a fiber (net/Fiber) with
// the synchronous code (front/RequestServer), parking it on every wait; a
// request whose body is still coming is served by a worker
// (front/WorkerPool), which gives the connection back. So an idle or slow
// client holds no thread, and neither does a request that waits.
// TLS is the loop's too: the handshake and the request's records are read
// without blocking (Poco's TLS socket over a non-blocking TCP socket), a
// TLS request is served on the loop like a plain one, and the socket is
// made blocking only while a worker has it.
// Thread: the public calls from the main thread.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/Context.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/ServerSocket.h>

#include "RequestServer.h"

namespace sluice::kernel {

class EventLoop;
class WorkerPool;

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

struct FrontSettings {
    std::size_t ioThreads = 1;
    std::chrono::seconds keepAlive{60};
    std::size_t maxPerClient = 0;  // 0: any number
    // Addresses never counted against the cap: trusted proxies, through which many clients come.
    std::function<bool(const Poco::Net::IPAddress&)> exempt;
    // The largest body read ahead for a worker (the current limits.max_body_bytes).
    std::function<std::size_t()> maxBodyBytes;
    // All connections together read ahead at most about this much; past it a
    // body is left to its worker to read (server.read_ahead_bytes).
    std::size_t readAheadBytes = 256u << 20;
    Poco::Net::Context::Ptr tls;  // set: every connection speaks TLS
};

class IoThreads {
public:
    // The listener must be bound and listening; it is made non-blocking.
    IoThreads(Poco::Net::ServerSocket& listener, FrontSettings settings, RequestServer& server, WorkerPool& workers);
    // Ends the loops and closes what is still open. The workers must be done first.
    ~IoThreads();
    IoThreads(const IoThreads&) = delete;
    IoThreads& operator=(const IoThreads&) = delete;

    // Accept no new connection; idle ones close now, others after their
    // answer. Returns once every loop has done so.
    void stopAccepting();
    // The drain's end (drain::end() was called): streams relayed by the
    // loops end now with their protocol's error frame, and their requests
    // go on to a worker. Returns once every loop has done so.
    void endStreams();
    // Connections with a request under way (its head begun, read or being served).
    std::size_t busy() const;

    struct Shared;  // what every loop and connection refers to

private:
    struct Loop;
    // Runs `work` on every loop's thread; returns once all have.
    void onEveryLoop(const std::function<void(Loop&)>& work);

    std::shared_ptr<Shared> _shared;
    std::vector<std::unique_ptr<Loop>> _loops;
};

} // namespace sluice::kernel
