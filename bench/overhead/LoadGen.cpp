// sluice-loadgen: the HTTP/1.1 load generator behind bench/run. One thread,
// one epoll loop, non-blocking keep-alive connections to one loopback URL.
//
//   closed   C connections, each sending its next request as soon as the
//            last answer ended: requests/s at saturation.
//   open     requests due at a fixed rate R, on up to C connections. Latency
//            is counted from when a request was due, not from when it was
//            sent, so a request that waits for a free connection is late by
//            that wait (no coordinated omission).
//   idle     N connections, one whole request each, then all held open and
//            idle for --duration seconds: what a keep-alive connection costs
//            the server (bench/run samples its RSS meanwhile), and how many
//            it kept open.
//   streams  N requests at once, each on its own connection: how many ended
//            whole, and each one's time to first body byte.
//
// Prints one JSON object: counts, requests/s, latency and time-to-first-byte
// percentiles in milliseconds, and the most requests that were in flight at
// once. Every loop is bounded by --duration or --timeout.
//
// Over 400 lines: one self-contained tool (its loop, three modes, its
// report) with no library to share with anything else in the tree.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

struct Options {
    std::string mode = "closed";
    std::string host = "127.0.0.1";
    int port = 0;
    std::string path = "/";
    std::string body;
    std::vector<std::string> headers;
    int connections = 16;
    double rate = 1000;
    double duration = 5;
    double warmup = 1;
    int streams = 100;
    double timeout = 30;
};

[[noreturn]] void usage(const std::string& problem) {
    std::cerr << "sluice-loadgen: " << problem << "\n"
              << "usage: sluice-loadgen --url http://HOST:PORT/PATH [--body JSON] [--header 'Name: value']...\n"
                 "         [--mode closed|open|streams|idle] [--connections C] [--rate R] [--duration S]\n"
                 "         [--warmup S] [--streams N] [--timeout S]\n";
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        if (auto eq = arg.find('='); eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            usage(arg + " needs a value");
        }
        try {
            if (arg == "--url") {
                const std::string prefix = "http://";
                if (value.rfind(prefix, 0) != 0) usage("only http:// URLs: " + value);
                const auto rest = value.substr(prefix.size());
                const auto slash = rest.find('/');
                const auto authority = rest.substr(0, slash);
                options.path = slash == std::string::npos ? "/" : rest.substr(slash);
                const auto colon = authority.rfind(':');
                if (colon == std::string::npos) usage("the URL needs a port: " + value);
                options.host = authority.substr(0, colon);
                options.port = std::stoi(authority.substr(colon + 1));
            } else if (arg == "--body") options.body = value;
            else if (arg == "--header") options.headers.push_back(value);
            else if (arg == "--mode") options.mode = value;
            else if (arg == "--connections") options.connections = std::stoi(value);
            else if (arg == "--rate") options.rate = std::stod(value);
            else if (arg == "--duration") options.duration = std::stod(value);
            else if (arg == "--warmup") options.warmup = std::stod(value);
            else if (arg == "--streams") options.streams = std::stoi(value);
            else if (arg == "--timeout") options.timeout = std::stod(value);
            else usage("unknown option " + arg);
        } catch (const std::logic_error&) {
            usage("bad value for " + arg + ": " + value);
        }
    }
    if (options.port <= 0) usage("--url is required");
    if (options.mode != "closed" && options.mode != "open" && options.mode != "streams" && options.mode != "idle")
        usage("bad --mode " + options.mode);
    if (options.connections < 1 || options.streams < 1 || options.rate <= 0 || options.duration <= 0) usage("counts must be positive");
    return options;
}

// An HTTP/1.1 answer read incrementally: head, then a Content-Length body, a
// chunked body, or a body that ends with the connection.
class ResponseReader {
public:
    enum class Result { NeedMore, Done, Bad };

    void reset() {
        _buffer.clear();
        _state = State::Head;
        _status = 0;
        _remaining = 0;
        _keepAlive = true;
        _bodyStarted = false;
    }

    // Feeds bytes; sets `bodyStarted` once the first body byte has arrived.
    Result feed(const char* data, std::size_t size) {
        _buffer.append(data, size);
        return advance();
    }
    Result endOfStream() { return _state == State::UntilClose ? Result::Done : Result::Bad; }

    int status() const { return _status; }
    bool keepAlive() const { return _keepAlive && _state != State::UntilClose; }
    bool bodyStarted() const { return _bodyStarted; }

private:
    enum class State { Head, Length, ChunkSize, ChunkData, ChunkEnd, Trailer, UntilClose, Done };

    Result advance() {
        std::size_t at = 0;
        for (;;) {
            switch (_state) {
            case State::Head: {
                const auto end = _buffer.find("\r\n\r\n", at);
                if (end == std::string::npos) return keep(at);
                if (!parseHead(std::string_view(_buffer).substr(at, end - at))) return Result::Bad;
                at = end + 4;
                break;
            }
            case State::Length: {
                const auto take = std::min(_remaining, _buffer.size() - at);
                if (take > 0) _bodyStarted = true;
                _remaining -= take;
                at += take;
                if (_remaining == 0) _state = State::Done;
                else return keep(at);
                break;
            }
            case State::ChunkSize: {
                const auto end = _buffer.find("\r\n", at);
                if (end == std::string::npos) return keep(at);
                _remaining = std::strtoull(_buffer.c_str() + at, nullptr, 16);
                at = end + 2;
                _state = _remaining == 0 ? State::Trailer : State::ChunkData;
                break;
            }
            case State::ChunkData: {
                const auto take = std::min(_remaining, _buffer.size() - at);
                if (take > 0) _bodyStarted = true;
                _remaining -= take;
                at += take;
                if (_remaining > 0) return keep(at);
                _state = State::ChunkEnd;
                break;
            }
            case State::ChunkEnd:
                if (_buffer.size() - at < 2) return keep(at);
                at += 2;
                _state = State::ChunkSize;
                break;
            case State::Trailer: {
                const auto end = _buffer.find("\r\n", at);
                if (end == std::string::npos) return keep(at);
                const bool blank = end == at;
                at = end + 2;
                if (blank) _state = State::Done;
                break;
            }
            case State::UntilClose:
                if (at < _buffer.size()) _bodyStarted = true;
                _buffer.clear();
                return Result::NeedMore;
            case State::Done:
                _buffer.erase(0, at);
                return Result::Done;
            }
        }
    }

    Result keep(std::size_t consumed) {
        _buffer.erase(0, consumed);
        return Result::NeedMore;
    }

    bool parseHead(std::string_view head) {
        if (head.size() < 12 || head.substr(0, 5) != "HTTP/") return false;
        _status = std::atoi(std::string(head.substr(9, 3)).c_str());
        bool chunked = false;
        std::optional<std::size_t> length;
        std::size_t line = head.find("\r\n");
        while (line != std::string_view::npos) {
            const auto next = head.find("\r\n", line + 2);
            auto field = head.substr(line + 2, next == std::string_view::npos ? std::string_view::npos : next - line - 2);
            const auto colon = field.find(':');
            if (colon != std::string_view::npos) {
                std::string name(field.substr(0, colon));
                for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                auto value = std::string(field.substr(colon + 1));
                value.erase(0, value.find_first_not_of(' '));
                std::string lower = value;
                for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                if (name == "content-length") length = std::strtoull(value.c_str(), nullptr, 10);
                else if (name == "transfer-encoding" && lower.find("chunked") != std::string::npos) chunked = true;
                else if (name == "connection" && lower.find("close") != std::string::npos) _keepAlive = false;
            }
            line = next;
        }
        if (chunked) _state = State::ChunkSize;
        else if (length) {
            _remaining = *length;
            _state = _remaining == 0 ? State::Done : State::Length;
        } else if (_status == 204 || _status == 304) _state = State::Done;
        else _state = State::UntilClose;
        return true;
    }

    std::string _buffer;
    State _state = State::Head;
    int _status = 0;
    std::size_t _remaining = 0;
    bool _keepAlive = true;
    bool _bodyStarted = false;
};

struct Connection {
    int fd = -1;
    bool connected = false;
    bool busy = false;
    std::size_t written = 0;
    Clock::time_point due;        // when the request was due (open) or sent (closed, streams)
    std::optional<Clock::time_point> firstByte;
    ResponseReader reader;
};

std::vector<double> sortedCopy(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values;
}

nlohmann::json percentiles(const std::vector<double>& millis) {
    if (millis.empty()) return nullptr;
    const auto sorted = sortedCopy(millis);
    auto at = [&](double q) { return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * sorted.size()))]; };
    return {{"p50", at(0.50)}, {"p90", at(0.90)}, {"p99", at(0.99)}, {"p999", at(0.999)}, {"max", sorted.back()}};
}

class LoadGen {
public:
    explicit LoadGen(Options options) : _options(std::move(options)) {
        _request = "POST " + _options.path + " HTTP/1.1\r\nHost: " + _options.host + ":" + std::to_string(_options.port) +
                   "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(_options.body.size()) + "\r\n";
        for (const auto& header : _options.headers) _request += header + "\r\n";
        _request += "\r\n" + _options.body;
        _address.sin_family = AF_INET;
        _address.sin_port = htons(static_cast<std::uint16_t>(_options.port));
        if (inet_pton(AF_INET, _options.host.c_str(), &_address.sin_addr) != 1) usage("the host must be an IPv4 address");
        _epoll = epoll_create1(0);
    }

    nlohmann::json run() {
        const auto start = Clock::now();
        if (_options.mode == "streams") return runStreams(start);
        if (_options.mode == "idle") return runIdle(start);
        _measureFrom = start + std::chrono::duration_cast<Clock::duration>(Seconds(_options.warmup));
        _measureUntil = _measureFrom + std::chrono::duration_cast<Clock::duration>(Seconds(_options.duration));
        if (_options.mode == "closed") {
            for (int i = 0; i < _options.connections; ++i) {
                auto& connection = open();
                send(connection, Clock::now());
            }
            loop([&] { return Clock::now() >= _measureUntil; }, nullptr);
        } else {
            // Every request due in warm-up and measurement; answers may take until the timeout.
            const auto interval = Seconds(1.0 / _options.rate);
            const auto total = static_cast<std::size_t>((_options.warmup + _options.duration) * _options.rate);
            std::size_t scheduled = 0;
            auto schedule = [&](Clock::time_point now) {
                while (scheduled < total) {
                    const auto due = start + std::chrono::duration_cast<Clock::duration>(interval * static_cast<double>(scheduled));
                    if (due > now) return std::optional<Clock::time_point>(due);
                    _pending.push_back(due);
                    ++scheduled;
                }
                return std::optional<Clock::time_point>{};
            };
            const auto deadline = _measureUntil + std::chrono::duration_cast<Clock::duration>(Seconds(_options.timeout));
            loop([&] { return (scheduled == total && _pending.empty() && _inFlight == 0) || Clock::now() >= deadline; },
                 schedule);
            _errors += _inFlight + _pending.size();  // not answered by the deadline
        }
        return report(Seconds(_options.duration).count());
    }

private:
    nlohmann::json runStreams(Clock::time_point start) {
        _measureFrom = start;
        _measureUntil = Clock::time_point::max();
        for (int i = 0; i < _options.streams; ++i) {
            auto& connection = open();
            send(connection, Clock::now());
        }
        const auto deadline = start + std::chrono::duration_cast<Clock::duration>(Seconds(_options.timeout));
        loop([&] { return _inFlight == 0 || Clock::now() >= deadline; }, nullptr, /*reuse=*/false);
        _errors += _inFlight;
        return report(Seconds(Clock::now() - start).count());
    }

    // --streams connections, each answered once and then left idle for --duration.
    nlohmann::json runIdle(Clock::time_point start) {
        _measureFrom = start;
        _measureUntil = Clock::time_point::max();
        for (int i = 0; i < _options.streams; ++i) send(open(), Clock::now());
        const auto deadline = start + std::chrono::duration_cast<Clock::duration>(Seconds(_options.timeout));
        loop([&] { return _inFlight == 0 || Clock::now() >= deadline; }, nullptr);
        _errors += _inFlight;
        const auto holdUntil = Clock::now() + std::chrono::duration_cast<Clock::duration>(Seconds(_options.duration));
        loop([&] { return Clock::now() >= holdUntil; }, nullptr);
        auto result = report(Seconds(Clock::now() - start).count());
        result["held_open"] = liveConnections();
        return result;
    }

    Connection& open() {
        auto connection = std::make_unique<Connection>();
        connection->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (connection->fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
        const int one = 1;
        setsockopt(connection->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(connection->fd, reinterpret_cast<sockaddr*>(&_address), sizeof _address) != 0 && errno != EINPROGRESS)
            throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
        epoll_event event{};
        event.events = EPOLLOUT;
        event.data.ptr = connection.get();
        epoll_ctl(_epoll, EPOLL_CTL_ADD, connection->fd, &event);
        _connections.push_back(std::move(connection));
        return *_connections.back();
    }

    void watch(Connection& connection, std::uint32_t events) {
        epoll_event event{};
        event.events = events;
        event.data.ptr = &connection;
        epoll_ctl(_epoll, EPOLL_CTL_MOD, connection.fd, &event);
    }

    void send(Connection& connection, Clock::time_point due) {
        connection.busy = true;
        connection.written = 0;
        connection.due = due;
        connection.firstByte.reset();
        connection.reader.reset();
        ++_inFlight;
        _maxInFlight = std::max(_maxInFlight, _inFlight);
        if (connection.connected) write(connection);
    }

    void write(Connection& connection) {
        while (connection.written < _request.size()) {
            const auto n = ::send(connection.fd, _request.data() + connection.written, _request.size() - connection.written,
                                  MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EAGAIN) return watch(connection, EPOLLOUT);
                return fail(connection);
            }
            connection.written += static_cast<std::size_t>(n);
        }
        watch(connection, EPOLLIN);
    }

    // The connection is gone. A request on it ended without an answer: count it.
    void fail(Connection& connection) {
        if (connection.busy) {
            --_inFlight;
            if (counted(connection.due)) ++_errors;
        }
        drop(connection);
    }

    void drop(Connection& connection) {
        connection.busy = false;
        close(connection.fd);
        connection.fd = -1;
        std::erase(_idle, &connection);
        _dead.push_back(&connection);
    }

    bool counted(Clock::time_point due) const { return due >= _measureFrom && due < _measureUntil; }

    void finish(Connection& connection, Clock::time_point now) {
        --_inFlight;
        connection.busy = false;
        if (counted(connection.due)) {
            const auto status = connection.reader.status();
            if (status >= 200 && status < 300) {
                ++_ok;
                _latency.push_back(std::chrono::duration<double, std::milli>(now - connection.due).count());
                if (connection.firstByte)
                    _ttfb.push_back(std::chrono::duration<double, std::milli>(*connection.firstByte - connection.due).count());
            } else {
                ++_errors;
                ++_badStatus;
            }
        }
    }

    void read(Connection& connection, bool reuse) {
        char buffer[65536];
        for (;;) {
            const auto n = recv(connection.fd, buffer, sizeof buffer, 0);
            const auto now = Clock::now();
            if (n == 0) {
                // A body that ends with the connection is whole; anything else is cut.
                if (connection.busy && connection.reader.endOfStream() == ResponseReader::Result::Done) {
                    finish(connection, now);
                    return drop(connection);
                }
                return fail(connection);
            }
            if (n < 0) {
                if (errno == EAGAIN) return;
                return fail(connection);
            }
            if (!connection.busy) return fail(connection);  // bytes nobody asked for
            const auto result = connection.reader.feed(buffer, static_cast<std::size_t>(n));
            if (!connection.firstByte && connection.reader.bodyStarted()) connection.firstByte = now;
            if (result == ResponseReader::Result::Bad) return fail(connection);
            if (result == ResponseReader::Result::Done) {
                const bool keepAlive = connection.reader.keepAlive();
                finish(connection, now);
                if (!keepAlive || !reuse) return drop(connection);
                _idle.push_back(&connection);
                return;
            }
        }
    }

    template <class Done, class Schedule>
    void loop(Done done, Schedule schedule, bool reuse = true) {
        std::vector<epoll_event> events(1024);
        while (!done()) {
            auto now = Clock::now();
            std::optional<Clock::time_point> nextDue;
            if constexpr (!std::is_same_v<Schedule, std::nullptr_t>) nextDue = schedule(now);
            replaceDead(now, reuse);
            dispatch();
            timespec wait{0, 0};
            if (nextDue) {
                const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*nextDue - Clock::now()).count();
                if (ns > 0) wait = {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
            } else {
                wait = {0, 50'000'000};  // wake to check `done` even when nothing happens
            }
            int n = epoll_pwait2(_epoll, events.data(), static_cast<int>(events.size()), &wait, nullptr);
            if (n < 0 && errno == ENOSYS)  // kernels before 5.11: millisecond waits
                n = epoll_wait(_epoll, events.data(), static_cast<int>(events.size()),
                               static_cast<int>(wait.tv_sec * 1000 + wait.tv_nsec / 1'000'000));
            for (int i = 0; i < n; ++i) {
                auto& connection = *static_cast<Connection*>(events[i].data.ptr);
                if (connection.fd < 0) continue;
                if (!connection.connected) {
                    int error = 0;
                    socklen_t length = sizeof error;
                    getsockopt(connection.fd, SOL_SOCKET, SO_ERROR, &error, &length);
                    if (error != 0) {
                        fail(connection);
                        continue;
                    }
                    connection.connected = true;
                    if (connection.busy) write(connection);
                    else {
                        watch(connection, EPOLLIN);
                        _idle.push_back(&connection);
                    }
                    continue;
                }
                if (events[i].events & EPOLLOUT) write(connection);
                else read(connection, reuse);
            }
            if constexpr (std::is_same_v<Schedule, std::nullptr_t>) {
                // Closed mode: every idle connection sends again at once.
                if (_options.mode == "closed")
                    while (!_idle.empty()) {
                        auto* connection = _idle.front();
                        _idle.pop_front();
                        send(*connection, Clock::now());
                    }
            }
        }
    }

    // Closed mode keeps its connection count: a closed connection is replaced
    // and sends at once. Open mode opens connections as requests need them.
    void replaceDead(Clock::time_point now, bool reuse) {
        while (!_dead.empty()) {
            _dead.pop_front();
            if (reuse && _options.mode == "closed") send(open(), now);
        }
    }

    // Open mode: due requests go out on idle connections, opening new ones up to the cap.
    void dispatch() {
        while (!_pending.empty()) {
            Connection* connection = nullptr;
            if (!_idle.empty()) {
                connection = _idle.front();
                _idle.pop_front();
            } else if (liveConnections() < static_cast<std::size_t>(_options.connections)) {
                connection = &open();
            } else {
                return;  // waits for a connection; its lateness counts
            }
            const auto due = _pending.front();
            _pending.pop_front();
            send(*connection, due);
        }
    }

    std::size_t liveConnections() const {
        std::size_t live = 0;
        for (const auto& connection : _connections) live += connection->fd >= 0;
        return live;
    }

    nlohmann::json report(double seconds) const {
        return {{"mode", _options.mode},
                {"ok", _ok},
                {"errors", _errors},
                {"bad_status", _badStatus},
                {"seconds", seconds},
                {"rps", _ok / seconds},
                {"latency_ms", percentiles(_latency)},
                {"ttfb_ms", percentiles(_ttfb)},
                {"max_in_flight", _maxInFlight},
                {"connections_opened", _connections.size()}};
    }

    Options _options;
    std::string _request;
    sockaddr_in _address{};
    int _epoll = -1;
    std::vector<std::unique_ptr<Connection>> _connections;
    std::deque<Connection*> _idle;
    std::deque<Connection*> _dead;
    std::deque<Clock::time_point> _pending;
    Clock::time_point _measureFrom;
    Clock::time_point _measureUntil;
    std::size_t _inFlight = 0;
    std::size_t _maxInFlight = 0;
    std::size_t _ok = 0;
    std::size_t _errors = 0;
    std::size_t _badStatus = 0;
    std::vector<double> _latency;
    std::vector<double> _ttfb;
};

} // namespace

int main(int argc, char** argv) {
    const auto options = parse(argc, argv);
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    try {
        std::cout << LoadGen(options).run().dump() << "\n";
    } catch (const std::exception& e) {
        std::cerr << "sluice-loadgen: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
