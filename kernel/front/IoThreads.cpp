#include "IoThreads.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <future>
#include <optional>
#include <type_traits>
#include <unordered_set>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <Poco/Logger.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SecureStreamSocketImpl.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/StreamSocketImpl.h>

#include "../Logging.h"
#include "../http/ChunkedDecoder.h"
#include "../net/EventLoop.h"
#include "../net/Fiber.h"
#include "../net/DrainDeadline.h"
#include "ClientSession.h"
#include "RequestScan.h"
#include "WorkerPool.h"

namespace sluice::kernel {

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

struct IoThreads::Shared {
    Shared(FrontSettings settings_, RequestServer& server_, WorkerPool& workers_)
        : settings(std::move(settings_)), server(server_), workers(workers_) {}

    FrontSettings settings;
    RequestServer& server;
    WorkerPool& workers;
    int listener = -1;
    std::atomic<bool> stopping{false};
    std::atomic<std::size_t> busy{0};
    std::atomic<std::size_t> readAhead{0};  // request bytes the loops hold, against settings.readAheadBytes
    std::shared_ptr<ClientConnections> clients = std::make_shared<ClientConnections>();

    const HeadLimits& limits() const { return server.limits(); }

    // Under overload every refused request would log: once a second is enough.
    void warnBusy() {
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
        auto last = lastBusyWarning.load();
        if (now - last < 1000 || !lastBusyWarning.compare_exchange_strong(last, now)) return;
        Poco::Logger::get("sluice.kernel").warning("every stage thread busy and server.max_queued calls waiting: answering 503");
    }
    std::atomic<std::int64_t> lastBusyWarning{-1000};
    std::size_t headLimit() const { return limits().maxRequestLine + limits().maxHeaderBytes + 2; }
};

namespace {

using Clock = std::chrono::steady_clock;

// After a refusal: what the client still sends is read and dropped for this
// long, up to this much, before the close: closing a socket with unread bytes
// makes the kernel send a reset, which can destroy the answer.
constexpr auto kLinger = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 4 * 1024 * 1024;
// Requests one worker serves in a row on a connection whose next request is
// already in, before it gives the connection back (fairness to the others).
constexpr int kServedInARow = 16;
// A wait parked this long gives back the stack below it (Fiber::
// trimParked): a slow backend's first byte. A connect or a quick first
// byte ends sooner, and would have paid a madvise with its TLB flush, and
// the page faults after, for nothing (11% of 10,000 streams' CPU, perf).
// Not less: under load every wait lasts some tens of milliseconds, the
// loop's round. A stream's relay is long by nature: trimmed at once.
constexpr auto kTrimAfter = std::chrono::seconds(1);
// A parked relay stops reading its backend while this much waits for a
// slow client, and reads again once the client has taken it all.
constexpr std::size_t kRelayBacklog = 256 * 1024;

// Runs a request's fiber until it ends or parks; one that ended is deleted
// (a parked one belongs to whoever its park handed it to).
void runFiber(Fiber& fiber) {
    if (fiber.run()) delete &fiber;
}

// An accepted TLS connection: Poco makes these only in its own accept, which
// blocks; this is the same object over a socket the loop accepted.
class AcceptedTlsSocket final : public Poco::Net::SecureStreamSocketImpl {
public:
    AcceptedTlsSocket(Poco::Net::StreamSocketImpl* socket, Poco::Net::Context::Ptr context)
        : SecureStreamSocketImpl(socket, std::move(context)) {
        acceptSSL();  // sets the server side up; the handshake comes with the first read
    }
};

// One client connection, owned by its loop; while a worker serves a request
// on it the loop does not touch it.
class Connection final : public EventLoop::Watcher, public ParkedRelays {
public:
    // `plain`: under TLS, the TCP socket beneath `socket`; null without TLS.
    Connection(IoThreads::Shared& shared, EventLoop& loop, std::unordered_set<Connection*>& all, Poco::Net::StreamSocket socket,
               Poco::AutoPtr<Poco::Net::StreamSocketImpl> plain, ConnectionInfo info, std::shared_ptr<void> place)
        : _shared(shared), _loop(loop), _all(all), _socket(std::move(socket)), _plain(std::move(plain)),
          _fd(_socket.impl()->sockfd()), _info(std::move(info)), _place(std::move(place)) {
        _info.relays = this;
        _all.insert(this);
        // The loop never waits on a read or a write. Under TLS it is the TCP
        // socket's own mode that Poco's TLS reads look at: set on the
        // secure socket, a read that wants more bytes would poll instead.
        setBlocking(false);
    }

    void open() {
        waitFor(kReading);
        waitIdle();
    }

    // Writes `answer`, then lingers and closes.
    void refuse(std::string answer) {
        setState(State::Answering);
        cancelTimer();
        _out = std::move(answer);
        _in.clear();
        writeOut();
    }

    // The drain: an idle connection closes now; one with a request under way after its answer.
    void closeIfIdle() {
        if (_state == State::Idle) close();
    }

    // The drain's end: a relayed stream ends now, with its protocol's error
    // frame; one still writing its last bytes to a slow client is cut off;
    // a parked wait ends.
    void cutIfRelaying() {
        if (_state == State::Relaying) cutRelay(_relay->over ? StreamPump::Cut::ClientGone : StreamPump::Cut::Draining);
        else if (_state == State::Waiting && !writesToClient(*_wait)) endWait(WaitEnd::Draining);
    }

    // Inside the request's fiber (on a worker or on this loop): waits for
    // `fd` (a backend's socket, this client's own, -1 for time alone) with
    // the request parked while the loop watches.
    std::optional<WaitEnd> waitParked(int fd, Await what, Clock::time_point deadline) override {
        if (!Fiber::current()) return std::nullopt;
        ParkedWait wait{fd, what, deadline};
        parkWith([this, &wait](Fiber& fiber) {
            wait.fiber = &fiber;
            startWait(wait);
        });
        return wait.end;
    }

    // Inside the request's fiber: the rest of the stream is relayed by this
    // connection's loop while the request is parked.
    bool relayParked(StreamPump& pump) override {
        if (tls() || pump.upstreamFd < 0 || !Fiber::current()) return false;
        parkWith([this, &pump](Fiber& fiber, std::string& requestId) { startRelay(pump, fiber, requestId); });
        return true;
    }

    bool servedOnLoop() const override { return _onLoop; }

    // Inside the request's fiber on this loop: `work` runs on a worker (a
    // stage thread), then the request comes back here.
    // In line behind other work (FIFO), and bounded by server.max_queued
    // as a new request is: refused, the request goes on here at once.
    void offLoop(const std::function<void()>& work) override {
        if (!_onLoop || !Fiber::current()) return work();
        auto requestId = takeRequestLogId();
        _onLoop = false;
        bool refused = false;
        Fiber::park([this, &refused](Fiber& fiber) {
            if (_shared.workers.submit([&fiber] { runFiber(fiber); })) return;
            refused = true;
            _onLoop = true;
            runFiber(fiber);
        });
        putRequestLogId(std::move(requestId));
        if (refused) {
            _shared.warnBusy();
            throw StageThreadsBusy();
        }
        std::exception_ptr failed;
        try {
            work();
        } catch (...) {
            failed = std::current_exception();
        }
        requestId = takeRequestLogId();
        Fiber::park([this](Fiber& fiber) {
            _loop.post([this, &fiber] {
                _onLoop = true;
                runFiber(fiber);
            });
        });
        putRequestLogId(std::move(requestId));
        if (failed) std::rethrow_exception(failed);
    }

    void onReady(std::uint32_t events) override {
        switch (_state) {
        case State::Idle:
        case State::Head:
        case State::Body:
            return readAndProgress();
        case State::Answering:
            if (events & (EPOLLERR | EPOLLHUP)) return close();
            return writeOut();
        case State::Lingering:
            return drop();
        case State::Relaying:
            return clientReadyWhileRelaying(events);
        case State::Waiting:
            // A wait on the client's own socket ends at any event (its read
            // or write says what came); on another's, a hang-up ends it, and
            // bytes that came (the next request, sent early) are left for later.
            if (_wait->fd == _fd) return endWait(WaitEnd::Ready);
            if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) return endWait(WaitEnd::ClientGone);
            return waitFor(EPOLLRDHUP);
        case State::Working:
            // Nothing listens while a request is served: out of the set
            // until it is answered (see waitFor).
            return unwatch();
        case State::Closed:
            return;
        }
    }

private:
    // Relaying: a worker's request is parked while the loop relays its
    // stream's rest. Waiting: parked while the loop waits for its backend.
    enum class State { Idle, Head, Body, Working, Relaying, Waiting, Answering, Lingering, Closed };
    static constexpr std::uint32_t kReading = EPOLLIN | EPOLLRDHUP;

    bool tls() const { return _plain; }

    // Under TLS only: a plain socket stays blocking for the worker, and the
    // loop's own reads and writes on it say MSG_DONTWAIT (no mode switch,
    // two system calls fewer per request).
    void setBlocking(bool blocking) {
        if (!_plain) return;
        try {
            _plain->setBlocking(blocking);
        } catch (const Poco::Exception&) {
            // a socket already broken: its next read or write says so
        }
    }

    // A worker's send to the client blocks (the loop's never do): one that
    // moves no byte for server.write_timeout_s fails, and the relay then
    // aborts the upstream. Set when a worker first serves the connection,
    // not at accept: most are served on their loop only, and it was a
    // system call each.
    void boundWorkerSends() {
        if (_workerSendsBounded) return;
        try {
            auto* tcp = _plain ? _plain.get() : _socket.impl();  // the TCP socket's own option
            tcp->setSendTimeout(Poco::Timespan(_shared.limits().writeTimeout.count(), 0));
            _workerSendsBounded = true;
        } catch (const Poco::Exception&) {
            // a socket already broken: the worker's first write says so
        }
    }

    // Waits for `events` (kReading, or EPOLLOUT while TLS or a refusal must write).
    // The client's socket stays in the loop's set from its first wait to its
    // close, through the requests served on it: out and back in again for
    // each was two system calls a request. What comes while a request is
    // served and nothing listens (State::Working) takes it out then.
    void waitFor(std::uint32_t events) {
        if (!_watched) {
            _loop.watch(_fd, events, *this);
            _watched = true;
        } else if (events != _events) {
            _loop.change(_fd, events, *this);
        }
        _events = events;
    }

    void unwatch() {
        if (_watched) _loop.unwatch(_fd, *this);
        _watched = false;
        _events = 0;
    }

    // A request goes on and nothing listens: a wait for the socket's room
    // would fire at once, a hang-up or the next request may stay.
    void rest() {
        if (_events & EPOLLOUT) unwatch();
    }

    static bool busyIn(State state) {
        return state == State::Head || state == State::Body || state == State::Working || state == State::Relaying ||
               state == State::Waiting;
    }

    void setState(State next) {
        if (busyIn(next) && !busyIn(_state)) ++_shared.busy;
        if (!busyIn(next) && busyIn(_state)) --_shared.busy;
        _state = next;
    }

    void cancelTimer() {
        if (_timer) _loop.cancel(*_timer);
        _timer.reset();
    }

    void setTimer(Clock::time_point when, void (Connection::*fire)()) {
        cancelTimer();
        _timer = _loop.at(when, [this, fire] {
            _timer.reset();
            (this->*fire)();
        });
    }

    void waitIdle() {
        setState(State::Idle);
        _scanned = 0;
        std::string().swap(_in);  // an idle connection keeps no buffer
        account();
        _decoder.reset();
        setTimer(Clock::now() + _shared.settings.keepAlive, &Connection::close);
    }

    // Reads what is there, without waiting. False: the client closed or the
    // connection broke. Under TLS it reads until the TLS layer wants more
    // bytes (decrypted ones it holds show on no descriptor), and the
    // handshake happens here, the first time.
    bool readIn() {
        constexpr std::size_t kStep = 16384;
        const std::size_t cap = _shared.headLimit() + _shared.settings.maxBodyBytes() + kStep;
        auto next = std::uint32_t{kReading};
        // Read into the loop's own buffer, then kept at the size that came:
        // read into `_in` grown by a step, a request of a hundred bytes held
        // 16 KiB for as long as it was served (a stream: its whole length).
        // Never on a fiber (the loop's own stack), so the thread's buffer is this loop's.
        thread_local std::array<char, kStep> scratch;
        for (;;) {
            long n = 0;
            try {
                n = tls() ? _socket.receiveBytes(scratch.data(), static_cast<int>(kStep))
                          : ::recv(_fd, scratch.data(), kStep, MSG_DONTWAIT);
            } catch (const Poco::Exception&) {
                n = 0;  // a failed handshake (plain HTTP to a TLS port), a reset
            }
            if (tls() && n < 0) {
                if (n == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_WRITE) next = EPOLLOUT;
                break;
            }
            if (n > 0) {
                _in.append(scratch.data(), static_cast<std::size_t>(n));
                _heard = true;
                if (_in.size() >= cap) break;
                if (!tls() && static_cast<std::size_t>(n) < kStep) break;
                continue;
            }
            if (n == 0) return false;
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
            break;
        }
        account();
        waitFor(next);
        return true;
    }

    // Keeps the front's count of bytes read ahead in step with _in.
    void account() {
        if (_in.size() >= _accounted) _shared.readAhead += _in.size() - _accounted;
        else _shared.readAhead -= _accounted - _in.size();
        _accounted = _in.size();
    }

    void readAndProgress() {
        const bool open = readIn();
        if (!open && _in.empty()) return close();
        // A TLS client's first bytes are its handshake: the head's deadline
        // counts from them, as it counts from a plain head's first byte.
        if (_state == State::Idle && tls() && !_heard) beginHead();
        progress();
        // The client stopped sending (or broke off) within a request: the
        // worker reads the end and answers as it would have (400, a truncated body).
        if (!open && (_state == State::Head || _state == State::Body)) handOver();
    }

    // What the bytes in say: wait for more, or hand the request to a worker.
    void progress() {
        if (_state == State::Idle) {
            if (_in.empty()) return;  // a wake-up with nothing to read
            beginHead();
        }
        if (_state == State::Head) {
            const auto head = scanHead(_in, _shared.headLimit(), _scanned);
            if (head.kind == HeadScan::Kind::More) {
                _scanned = _in.size();
                return;
            }
            if (head.kind == HeadScan::Kind::Hand) return handOver();
            _headBytes = head.bytes;
            _headEnd = Clock::now();
            _framing = framingOf(std::string_view(_in).substr(0, _headBytes));
            const auto maxBody = _shared.settings.maxBodyBytes();
            _whole = _framing.kind == BodyFraming::Kind::None;
            if (_framing.kind == BodyFraming::Kind::None || _framing.kind == BodyFraming::Kind::Unsure ||
                (_framing.kind == BodyFraming::Kind::Length && _framing.length > maxBody))
                return handOver();  // nothing to wait for, or the answer is 413 without the body
            // A client that expects `100 Continue` sends its body after it:
            // said from here, the body is read here too.
            if (_framing.expectContinue && !(_continued = sendNow("HTTP/1.1 100 Continue\r\n\r\n"))) return handOver();
            setState(State::Body);
            _fed = _headBytes;
            if (_framing.kind == BodyFraming::Kind::Chunked) _decoder.emplace();
            setTimer(*_headEnd + _shared.limits().bodyTimeout, &Connection::handOver);  // the worker says 408
        }
        // Past server.read_ahead_bytes for all connections together, a body
        // is left to a worker to read (as every body was before the loops):
        // thousands of slow uploads cannot fill the memory.
        if (bodyIn() || _shared.readAhead.load() > _shared.settings.readAheadBytes) handOver();
    }

    void beginHead() {
        _scanned = 0;
        _whole = false;
        setState(State::Head);
        _headDeadline = Clock::now() + _shared.limits().headTimeout;
        setTimer(_headDeadline, &Connection::headTooSlow);
    }

    // Writes all of `bytes` at once if the socket takes them (a fresh
    // request's socket has room for a line or two). False: not written; a
    // part written cannot be taken back, so that connection is closed.
    bool sendNow(std::string_view bytes) {
        long n = 0;
        try {
            n = sendSome(bytes);
        } catch (const Poco::Exception&) {
            n = -1;
        }
        if (n > 0 && static_cast<std::size_t>(n) < bytes.size()) ::shutdown(_fd, SHUT_RDWR);  // the worker then finds it closed
        return n > 0 && static_cast<std::size_t>(n) == bytes.size();
    }

    // One write that does not wait: bytes taken (> 0), or under TLS
    // ERR_SSL_WANT_READ/WRITE, or -1 with errno. Throws Poco's exceptions
    // for a TLS connection that broke.
    long sendSome(std::string_view bytes) {
        return tls() ? _socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()))
                     : ::send(_fd, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    }

    // Whether the body's end is here (then `_whole`), or it cannot be read
    // here (broken chunk framing, or too long): its worker says so.
    bool bodyIn() {
        const auto have = _in.size() - _headBytes;
        if (_framing.kind == BodyFraming::Kind::Length) return _whole = have >= _framing.length;
        // Chunked: decoded as it comes, only to learn where it ends.
        std::string payload;
        _fed += _decoder->feed(std::string_view(_in).substr(_fed), payload);
        _whole = _decoder->done();
        return _decoder->done() || _decoder->failed() || have > _shared.settings.maxBodyBytes() + 65536;
    }

    void headTooSlow() {
        Poco::Logger::get("sluice.kernel").information("refused a request head from %s: 408 it came too slowly",
                                                       _info.peer.toString());
        refuse(closingAnswer(408, "request_timeout",
                             "the request head did not arrive within " +
                                 std::to_string(_shared.limits().headTimeout.count()) + " s",
                             ""));
    }

    void handOver() {
        cancelTimer();
        rest();
        setState(State::Working);
        Arrival arrival{std::move(_in), _headDeadline, _headEnd, _continued};
        _in = {};
        account();
        _headEnd.reset();
        _decoder.reset();
        _continued = false;
        // A request that is all here is served on this loop: it parks on
        // every wait, and only a stage call that may block goes to a worker.
        // Others (a body still coming) are served by a worker.
        if (_whole && serveOnLoop(arrival)) return;
        setBlocking(true);  // the worker's code reads and writes TLS with deadlines
        boundWorkerSends();
        const std::string target(requestTarget(arrival.bytes));
        const bool head = requestMethod(arrival.bytes) == "HEAD";
        const bool queued = _shared.workers.submit([this, arrival = std::move(arrival)]() mutable {
            // On a stack of its own, which a stream's rest parks (relayParked).
            // The fiber takes the arrival by reference: its first run is
            // now, on this thread, and moves it out before any park.
            Fiber* fiber = nullptr;
            try {
                fiber = new Fiber([this, &arrival] { serve(std::move(arrival)); });
            } catch (const std::exception&) {
                return serve(std::move(arrival));  // no stack to be had: served on this thread's own
            }
            runFiber(*fiber);
        });
        if (queued) return;
        setBlocking(false);
        waitFor(kReading);
        _shared.warnBusy();
        refuse(closingAnswer(503, "server_busy", "the gateway is busy; try again", target, head, {{"Retry-After", "1"}}));
    }

    // Serves `arrival` in a fiber that starts now, on this thread. False:
    // no fiber could be made (the arrival is untouched).
    bool serveOnLoop(Arrival& arrival) {
        Fiber* fiber = nullptr;
        try {
            fiber = new Fiber([this, &arrival] { serve(std::move(arrival)); });
        } catch (const std::exception&) {
            return false;
        }
        _onLoop = true;
        runFiber(*fiber);  // its first run takes the arrival before any park
        return true;
    }

    // On the worker: serves the request, and those behind it that are in,
    // then gives the connection back to the loop. It always comes back,
    // however the request ended: one left with a worker would never close.
    void serve(Arrival arrival) {
        Served served;
        try {
            if (!_session) _session = _shared.server.openSession(_socket, _info);
            served = _shared.server.serve(*_session, _info, std::move(arrival));
            for (int more = 0; more < kServedInARow && nextRequestIsIn(served); ++more)
                served = _shared.server.serve(*_session, _info, arrivalOf(std::move(served.unread)));
        } catch (...) {
            served = Served{};
        }
        _loop.post([this, served = std::move(served)]() mutable {
            _onLoop = false;
            resume(std::move(served));
        });
    }

    // On the worker, after an answer: whether the client's next request is
    // all here already (a busy client sends it while the last answer is
    // being finished). One read that does not wait; then the worker serves
    // it too and the connection skips the trip to its loop and back. A
    // request not whole goes to the loop as ever: a worker never waits for
    // a client. Plain connections only (the TLS socket is blocking here),
    // and not while other work waits for a worker. Not on the loop either:
    // there the trip costs nothing, and the loop's set, which still holds
    // the socket, says whether anything came (the look was a read that
    // found nothing, a system call a request).
    bool nextRequestIsIn(Served& served) {
        if (served.next != Served::Next::KeepAlive || tls() || _shared.stopping || _onLoop || _shared.workers.queued())
            return false;
        // Into the stack, then kept at its size (it is the next request's
        // buffer for as long as that is served); most looks find nothing.
        char chunk[16384];
        const auto n = ::recv(_fd, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n > 0) served.unread.append(chunk, static_cast<std::size_t>(n));
        return !served.unread.empty() && wholeRequest(served.unread, _shared.headLimit(), _shared.settings.maxBodyBytes());
    }

    Arrival arrivalOf(std::string bytes) const {
        const auto now = Clock::now();
        return Arrival{std::move(bytes), now + _shared.limits().headTimeout, now, false};
    }

    // A worker is done with the connection (on the loop thread).
    void resume(Served served) {
        try {
            waitFor(kReading);
        } catch (const std::system_error&) {
            return close();  // the worker closed it (an exception on the way out)
        }
        setBlocking(false);
        if (served.next == Served::Next::LingerThenClose) return linger();
        if (served.next == Served::Next::Close || _shared.stopping) return close();
        waitIdle();
        _in = std::move(served.unread);
        account();
        // Decrypted bytes the TLS layer holds show on no descriptor: take them now.
        if (tls() && _socket.impl()->available() > 0 && !readIn()) return close();
        progress();  // a pipelined request, maybe whole already
    }

    void writeOut() {
        while (!_out.empty()) {
            long n = 0;
            try {
                n = sendSome(_out);
            } catch (const Poco::Exception&) {
                return close();  // the client is gone, or its handshake failed
            }
            if (n > 0) {
                _out.erase(0, static_cast<std::size_t>(n));
                continue;
            }
            if (!tls() && n < 0 && errno == EINTR) continue;
            const bool wantsWrite = tls() ? n == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_WRITE
                                          : n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
            const bool wantsRead = tls() && n == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_READ;  // the handshake
            if (wantsWrite || wantsRead) {
                waitFor(wantsWrite ? EPOLLOUT : kReading);
                if (!_timer) setTimer(Clock::now() + _shared.limits().writeTimeout, &Connection::close);
                return;
            }
            return close();  // the client is gone
        }
        waitFor(kReading);
        linger();
    }

    // Ends our side (TLS's close_notify, then a FIN), then reads and drops
    // what the client still sends until it closes, for a while, then closes.
    void linger() {
        if (tls()) {
            try {
                _socket.impl()->shutdown();  // over a non-blocking socket: the close_notify alone
            } catch (const Poco::Exception&) {
            }
        }
        ::shutdown(_fd, SHUT_WR);
        setState(State::Lingering);
        _lingered = 0;
        setTimer(Clock::now() + kLinger, &Connection::close);
    }

    void drop() {
        char sink[16384];
        for (;;) {
            const auto n = ::recv(_fd, sink, sizeof sink, MSG_DONTWAIT);
            if (n > 0) {
                _lingered += static_cast<std::size_t>(n);
                if (_lingered >= kLingerBytes) return close();
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            return close();
        }
    }

    // The parked relay of a stream's rest (relayParked), on the loop.
    struct Relay {
        // The backend's socket, watched beside the client's.
        Relay(StreamPump& pump_, Fiber& fiber_, std::string& requestId_) : pump(pump_), fiber(fiber_), requestId(requestId_) {}
        StreamPump& pump;
        Fiber& fiber;
        std::string& requestId;  // on the parked stack: the relay's log lines name the request
        std::string out;            // for the client, not yet written
        bool reading = false;       // the backend's socket is watched
        bool over = false;          // nothing more is pumped; what is in `out` still goes out
        std::optional<EventLoop::TimerId> writeTimer;  // server.write_timeout_s without progress to the client
    };

    void startRelay(StreamPump& pump, Fiber& fiber, std::string& requestId) {
        _relay = std::make_unique<Relay>(pump, fiber, requestId);
        ++_relays;
        setState(State::Relaying);
        fiber.trimParked();
        // A client that hangs up (or half-closes, as a cancel does) ends it.
        waitFor(EPOLLRDHUP);
        readUpstream(true);
        if (drain::ended()) return cutRelay(StreamPump::Cut::Draining);
        pumpRelay();  // what the reader already holds goes first
    }

    void readUpstream(bool on) {
        if (on == _relay->reading) return;
        if (on) _loop.watch(_relay->pump.upstreamFd, EPOLLIN | EPOLLRDHUP, _upstream);
        else _loop.unwatch(_relay->pump.upstreamFd, _upstream);
        _relay->reading = on;
    }

    void pumpRelay() {
        auto& relay = *_relay;
        if (relay.over) return;
        putRequestLogId(std::move(relay.requestId));
        const bool more = relay.pump.pump(relay.out);  // never throws: a failure ends the relay
        relay.requestId = takeRequestLogId();
        if (!more) {
            // The stream's last bytes go with the body's last chunk, which
            // the request writes as it goes on: one send, not two.
            relay.over = true;
            relay.pump.unsent = std::exchange(relay.out, {});
            return endRelay();
        }
        if (!flushRelay()) return;
        if (relay.over) return endRelay();
        if (!_timer) armRelayDeadline();
    }

    // The stream's own deadline (a stall, timeout.max_stream_s), asked again
    // when it comes: it only moves later, so one timer serves many frames.
    void armRelayDeadline() {
        setTimer(_relay->pump.deadline(), &Connection::relayDeadline);
    }

    void relayDeadline() {
        auto& relay = *_relay;
        if (relay.over) return;
        // Held back for a slow client: the backend is not waited on, and
        // server.write_timeout_s watches the client.
        if (!relay.reading) return setTimer(Clock::now() + std::chrono::seconds(1), &Connection::relayDeadline);
        if (Clock::now() < relay.pump.deadline()) return armRelayDeadline();
        // Bytes already here win over a deadline that passed with them.
        const auto relayed = _relays;
        pumpRelay();
        // Over: its request may have gone on (on this loop) to another relay.
        if (_relays != relayed || relay.over) return;
        if (Clock::now() < relay.pump.deadline()) {
            if (!_timer) armRelayDeadline();
            return;
        }
        cutRelay(StreamPump::Cut::Deadline);
    }

    // Writes what waits for the client. False: the relay ended (the client went).
    bool flushRelay() {
        auto& relay = *_relay;
        std::size_t written = 0;
        while (written < relay.out.size()) {
            const auto n = ::send(_fd, relay.out.data() + written, relay.out.size() - written, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) {
                written += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            cutRelay(StreamPump::Cut::ClientGone);
            return false;
        }
        relay.out.erase(0, written);
        if (written > 0 && relay.writeTimer) {
            _loop.cancel(*relay.writeTimer);
            relay.writeTimer.reset();
        }
        if (!relay.out.empty() && !relay.writeTimer)
            relay.writeTimer = _loop.at(Clock::now() + _shared.limits().writeTimeout, [this] {
                _relay->writeTimer.reset();
                cutRelay(StreamPump::Cut::ClientGone);  // as a blocking send past server.write_timeout_s fails
            });
        waitFor(relay.out.empty() ? EPOLLRDHUP : EPOLLRDHUP | EPOLLOUT);
        // A client slower than its backend: the backend waits (TCP holds it back).
        if (!relay.over) readUpstream(relay.out.size() < kRelayBacklog);
        return true;
    }

    void clientReadyWhileRelaying(std::uint32_t events) {
        if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) return cutRelay(StreamPump::Cut::ClientGone);
        if (!flushRelay()) return;
        if (_relay->over && _relay->out.empty()) endRelay();
    }

    void cutRelay(StreamPump::Cut why) {
        auto& relay = *_relay;
        // A client gone is news to the request even when the pump was over.
        if (!relay.over || why == StreamPump::Cut::ClientGone) relay.pump.cut(why);
        relay.over = true;
        if (why == StreamPump::Cut::ClientGone) {
            relay.out.clear();
            // What was cut may be half a chunk: nothing more may follow it.
            ::shutdown(_fd, SHUT_RDWR);
        }
        endRelay();
    }

    // A parked wait, as the request's side holds it on its stack.
    struct ParkedWait {
        int fd;
        Await what;
        Clock::time_point deadline;
        Fiber* fiber = nullptr;
        WaitEnd end = WaitEnd::Timeout;
    };
    void startWait(ParkedWait& parked) {
        _wait = &parked;
        setState(State::Waiting);
        const bool reading = parked.what == Await::Readable;
        if (parked.fd == _fd) {
            waitFor(reading ? kReading : EPOLLOUT);
        } else {
            // A hang-up ends the wait. Watched as for the next request, so
            // a request served on the loop keeps the set as it is.
            waitFor(_events == EPOLLRDHUP ? EPOLLRDHUP : kReading);
            if (parked.fd >= 0) _loop.watch(parked.fd, reading ? EPOLLIN | EPOLLRDHUP : EPOLLOUT, _upstream);
        }
        setTimer(parked.deadline, &Connection::waitTimedOut);
        trimIfParkedLong(*parked.fiber);
        if (drain::ended() && !writesToClient(parked)) endWait(WaitEnd::Draining);
    }

    // A write of the answer (its last bytes, or the drain's closing frame)
    // is not cut by the drain's end: server.write_timeout_s bounds it.
    bool writesToClient(const ParkedWait& parked) const { return parked.fd == _fd && parked.what == Await::Writable; }

    void waitTimedOut() { endWait(WaitEnd::Timeout); }

    void endWait(WaitEnd end) {
        if (_state != State::Waiting) return;
        auto& parked = *_wait;
        if (parked.fd >= 0 && parked.fd != _fd) _loop.unwatch(parked.fd, _upstream);
        cancelTimer();
        keepStack();
        rest();
        setState(State::Working);
        parked.end = end;
        _wait = nullptr;
        goOn(*parked.fiber);
    }

    // While the request waits parked: its stack is trimmed once the wait
    // has lasted kTrimAfter; keepStack() as it ends.
    void trimIfParkedLong(const Fiber& fiber) {
        keepStack();
        _trimTimer = _loop.at(Clock::now() + kTrimAfter, [this, &fiber] {
            _trimTimer.reset();
            fiber.trimParked();
        });
    }

    void keepStack() {
        if (_trimTimer) _loop.cancel(*_trimTimer);
        _trimTimer.reset();
    }

    // Parks the running request's fiber; `start` then runs on this loop
    // with it (and the request's log id, which goes with the request, not
    // with the thread it ran on).
    template <class Start>
    void parkWith(Start start) {
        auto requestId = takeRequestLogId();
        Fiber::park([this, &start, &requestId](Fiber& fiber) {
            // Parked from this loop's own thread: started here and now.
            if (_onLoop) return call(start, fiber, requestId);
            _loop.post([this, &start, &fiber, &requestId] { call(start, fiber, requestId); });
        });
        putRequestLogId(std::move(requestId));
    }
    template <class Start>
    static void call(Start& start, Fiber& fiber, std::string& requestId) {
        if constexpr (std::is_invocable_v<Start&, Fiber&, std::string&>) start(fiber, requestId);
        else start(fiber);
    }

    // A parked request goes on where it ran: on this loop, or a worker.
    void goOn(Fiber& fiber) {
        if (_onLoop) runFiber(fiber);
        else goOnOnAWorker(fiber);
    }

    // A parked request goes on on a worker; with no worker left (the
    // process is stopping), here.
    void goOnOnAWorker(Fiber& fiber) {
        if (!_shared.workers.resume([&fiber] { runFiber(fiber); })) runFiber(fiber);
    }

    // Once what waits for the client is out (or the client is gone), the
    // request goes on on a worker, and the connection is the worker's again.
    void endRelay() {
        auto& relay = *_relay;
        readUpstream(false);
        cancelTimer();
        if (!relay.out.empty()) {
            waitFor(EPOLLRDHUP | EPOLLOUT);
            return;
        }
        if (relay.writeTimer) _loop.cancel(*relay.writeTimer);
        rest();
        setState(State::Working);
        Fiber& fiber = relay.fiber;
        _relay.reset();
        goOn(fiber);
    }

    // Closes; the object goes once the loop's current round is over, so a
    // caller may still look at its state.
    void close() {
        if (_state == State::Closed) return;
        cancelTimer();
        keepStack();
        setState(State::Closed);
        // The close takes the socket out of the loop's set (it is not
        // shared): an epoll_ctl per connection saved.
        if (_watched) _loop.forget(*this);
        _watched = false;
        try {
            _socket.close();
        } catch (const Poco::Exception&) {
        }
        _in.clear();
        account();
        _all.erase(this);
        _loop.post([this] { delete this; });
    }

    IoThreads::Shared& _shared;
    EventLoop& _loop;
    std::unordered_set<Connection*>& _all;
    Poco::Net::StreamSocket _socket;
    Poco::AutoPtr<Poco::Net::StreamSocketImpl> _plain;  // under TLS: the TCP socket beneath
    const int _fd;
    ConnectionInfo _info;
    std::unique_ptr<ClientSession> _session;  // made for the first request served, used by one at a time
    std::shared_ptr<void> _place;  // the client address's place among its connections, if counted

    State _state = State::Idle;
    bool _watched = false;      // _fd is in the loop's set
    std::uint32_t _events = 0;  // what the loop waits for on _fd, while _watched
    bool _heard = false;        // a byte of a request has come (under TLS: the handshake is done)
    bool _workerSendsBounded = false;  // boundWorkerSends() did its work
    std::optional<EventLoop::TimerId> _timer;
    std::optional<EventLoop::TimerId> _trimTimer;  // while parked: trimIfParkedLong's
    std::string _in;   // read and not yet handed over
    std::string _out;  // a refusal not yet written
    Clock::time_point _headDeadline;
    std::optional<Clock::time_point> _headEnd;
    std::size_t _headBytes = 0;
    std::size_t _scanned = 0;   // bytes of _in the head scan found no end in
    std::size_t _accounted = 0;  // bytes of _in counted in the front's read-ahead
    bool _continued = false;    // `100 Continue` was sent for the request being read
    BodyFraming _framing;
    std::size_t _fed = 0;  // bytes of _in the chunked decoder has seen
    std::optional<ChunkedDecoder> _decoder;
    std::size_t _lingered = 0;
    bool _whole = false;        // the request being read is all in _in
    bool _onLoop = false;       // the request is served by this loop (else by a worker), set on the loop
    std::unique_ptr<Relay> _relay;  // while Relaying
    std::uint64_t _relays = 0;      // relays started on this connection
    ParkedWait* _wait = nullptr;    // while Waiting: on the parked stack
    // A parked request's backend socket, watched beside the client's: its
    // readiness pumps a relay or ends a wait.
    struct UpstreamSide final : EventLoop::Watcher {
        explicit UpstreamSide(Connection& connection) : owner(connection) {}
        void onReady(std::uint32_t) override {
            if (owner._state == State::Relaying) owner.pumpRelay();
            else if (owner._state == State::Waiting) owner.endWait(WaitEnd::Ready);
        }
        Connection& owner;
    } _upstream{*this};
};

} // namespace

struct IoThreads::Loop final : EventLoop::Watcher {
    explicit Loop(std::shared_ptr<Shared> front) : shared(std::move(front)) {}

    void start() {
        loop.watch(shared->listener, EPOLLIN | EPOLLEXCLUSIVE, *this);
        thread = std::thread([this] {
            pthread_setname_np(pthread_self(), "sluice-io");
            loop.run();
        });
    }

    // Every `period`, the pooled fiber stacks no request took since go back
    // to the system (net/Fiber): a burst's serve the next burst, then go.
    void releaseSpareStacksEvery(Clock::duration period) {
        loop.at(Clock::now() + period, [this, period] {
            Fiber::releaseSpareStacks();
            releaseSpareStacksEvery(period);
        });
    }

    // Accepts what waits, a batch at a time so other loops get their share.
    void onReady(std::uint32_t) override {
        for (int i = 0; i < 64; ++i) {
            sockaddr_storage address{};
            socklen_t length = sizeof address;
            const int fd = ::accept4(shared->listener, reinterpret_cast<sockaddr*>(&address), &length, SOCK_CLOEXEC);
            if (fd >= 0) {
                adopt(fd, Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&address), length));
                continue;
            }
            // The connection's own trouble (accept(2) says to retry on these).
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == ENETDOWN || errno == ENOPROTOOPT ||
                errno == EHOSTDOWN || errno == ENONET || errno == EHOSTUNREACH || errno == EOPNOTSUPP || errno == ENETUNREACH)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            // Out of descriptors or memory: the connection stays queued. Stop
            // looking for a moment instead of spinning on it.
            Poco::Logger::get("sluice.kernel").warning("cannot accept a connection: %s", std::string(std::strerror(errno)));
            loop.unwatch(shared->listener, *this);
            loop.at(Clock::now() + std::chrono::milliseconds(100), [this] {
                if (!shared->stopping) loop.watch(shared->listener, EPOLLIN | EPOLLEXCLUSIVE, *this);
            });
            return;
        }
    }

    // `peer`: as accept(2) gave it (asking the socket again was a system call).
    void adopt(int fd, const Poco::Net::SocketAddress& peer) {
        Poco::Net::StreamSocket socket;
        Poco::AutoPtr<Poco::Net::StreamSocketImpl> plain;
        ConnectionInfo info;
        try {
            socket = Poco::Net::StreamSocket(new Poco::Net::StreamSocketImpl(fd));
            info = {peer, static_cast<bool>(shared->settings.tls)};
            socket.setNoDelay(true);
            if (shared->settings.tls) {
                plain = Poco::AutoPtr<Poco::Net::StreamSocketImpl>(static_cast<Poco::Net::StreamSocketImpl*>(socket.impl()), true);
                Poco::AutoPtr<AcceptedTlsSocket> secure(new AcceptedTlsSocket(plain.get(), shared->settings.tls));
                secure->duplicate();  // the StreamSocket takes this reference
                socket = Poco::Net::StreamSocket(secure.get());
            }
        } catch (const Poco::Exception&) {
            return;  // gone before it was looked at; `socket` closes it
        }
        std::shared_ptr<void> place;
        const auto& settings = shared->settings;
        bool refused = false;
        if (settings.maxPerClient != 0 && !(settings.exempt && settings.exempt(info.peer.host()))) {
            place = shared->clients->enter(info.peer.host().toString(), settings.maxPerClient);
            refused = !place;
        }
        auto* connection = new Connection(*shared, loop, connections, std::move(socket), std::move(plain), info, std::move(place));
        connection->open();
        if (!refused) return;
        // One more connection than its address may have: told so, then
        // closed, so one address (a slowloris, a runaway script) cannot hold
        // every connection. No request is read: the answer is in Ollama's
        // shape (OpenAI clients read the status).
        connection->refuse(closingAnswer(429, "too_many_connections", "too many connections from this address", "", false,
                                         {{"Retry-After", "1"}}));
    }

    std::shared_ptr<Shared> shared;
    EventLoop loop;
    std::thread thread;
    std::unordered_set<Connection*> connections;  // on the loop's thread only
};

IoThreads::IoThreads(Poco::Net::ServerSocket& listener, FrontSettings settings, RequestServer& server,
                     WorkerPool& workers)
    : _shared(std::make_shared<Shared>(std::move(settings), server, workers)) {
    listener.setBlocking(false);
    _shared->listener = listener.impl()->sockfd();
    const auto count = std::max<std::size_t>(1, _shared->settings.ioThreads);
    for (std::size_t i = 0; i < count; ++i) _loops.push_back(std::make_unique<Loop>(_shared));
    for (auto& loop : _loops) loop->start();
    Loop& first = *_loops.front();
    first.loop.post([&first] { first.releaseSpareStacksEvery(std::chrono::seconds(10)); });
}

void IoThreads::stopAccepting() {
    _shared->stopping = true;
    onEveryLoop([](Loop& each) {
        each.loop.unwatch(each.shared->listener, each);
        std::vector<Connection*> open(each.connections.begin(), each.connections.end());
        for (auto* connection : open) connection->closeIfIdle();
    });
}

void IoThreads::endStreams() {
    onEveryLoop([](Loop& each) {
        std::vector<Connection*> open(each.connections.begin(), each.connections.end());
        for (auto* connection : open) connection->cutIfRelaying();
    });
}

void IoThreads::onEveryLoop(const std::function<void(Loop&)>& work) {
    std::vector<std::future<void>> done;
    for (auto& loop : _loops) {
        auto promise = std::make_shared<std::promise<void>>();
        done.push_back(promise->get_future());
        Loop* each = loop.get();
        each->loop.post([each, promise, &work] {
            work(*each);
            promise->set_value();
        });
    }
    for (auto& each : done) each.wait();
}

std::size_t IoThreads::busy() const { return _shared->busy.load(); }

IoThreads::~IoThreads() {
    for (auto& loop : _loops) loop->loop.stop();
    for (auto& loop : _loops) {
        if (loop->thread.joinable()) loop->thread.join();
        // What is left (lingering, or never given back) closes with the loop.
        for (auto* connection : loop->connections) delete connection;
    }
}

} // namespace sluice::kernel
