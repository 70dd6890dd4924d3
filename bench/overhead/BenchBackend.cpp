// sluice-bench-backend: the floor bench/run measures every system against.
// An OpenAI-compatible chat backend in one thread and one epoll loop, so it
// holds 10,000 streams or idle keep-alive connections without a thread
// each: the test fake (tests/fakes) runs a thread per connection and queues
// past 1,024, which made even "direct" slow at 2,000 streams (issue 19).
//
//   GET  /v1/models             the three models below
//   POST /v1/chat/completions   a whole answer, or with "stream":true an SSE
//                               stream of --stream-chunks chunks
//                               --stream-interval-ms apart (model "stream"),
//                               or --held-chunks --held-interval-ms apart
//                               (model "held"); any other model streams its
//                               chunks at once; a usage chunk before [DONE]
//                               when the request asks stream_options.include_usage
//
// With --parallel N (and --generation-ms T, default 200) it plays a GPU
// server as Ollama runs one: a whole answer takes T ms to generate, at most
// N generate at once, and the rest wait first come, first served
// (OLLAMA_NUM_PARALLEL and its queue), which bench/capacity measures the
// gateway's queue against.
//
// Prints `listening on http://127.0.0.1:PORT` once bound; runs until
// SIGTERM or SIGINT. It answers only what bench/run sends: bodies with a
// Content-Length, no chunked uploads, no pipelining beyond one request read
// ahead.
//
// Over 200 lines: one self-contained tool (its loop, its tiny HTTP, its
// timers) with no library to share with anything else in the tree.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    int port = 0;
    int streamChunks = 20;
    int streamIntervalMs = 10;
    int heldChunks = 10;
    int heldIntervalMs = 500;
    int parallel = 0;  // 0: answers at once; else generations at a time, the rest queued
    int generationMs = 200;
};

volatile std::sig_atomic_t stopping = 0;

// One client connection: what it has sent, and the stream it is being sent.
struct Connection {
    int fd = -1;
    std::string in;
    std::string out;        // written as the socket takes it
    int chunksLeft = 0;     // of the stream in progress; 0: none
    int chunkIndex = 0;
    int intervalMs = 0;
    bool usage = false;  // stream_options.include_usage: a usage chunk before [DONE]
    bool closeAfter = false;
};

std::string chunked(const std::string& data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
}

std::string wholeAnswer(const std::string& model) {
    const std::string body = R"({"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":")" + model +
                             R"(","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from bench. This is a streamed answer."},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":8,"total_tokens":13}})";
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string streamChunk(const std::string& model, int index, bool last) {
    std::string delta = last ? R"({})" : R"({"content":"word)" + std::to_string(index) + R"( "})";
    return chunked("data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"" +
                   model + "\",\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"finish_reason\":" +
                   (last ? "\"stop\"" : "null") + "}]}\n\n");
}

const std::string kModels =
    R"({"object":"list","data":[{"id":"llama3.2:latest","object":"model","created":1700000000,"owned_by":"bench"},)"
    R"({"id":"stream:latest","object":"model","created":1700000000,"owned_by":"bench"},)"
    R"({"id":"held:latest","object":"model","created":1700000000,"owned_by":"bench"}]})";

// The value of "model" in a JSON body, read without a parser (the bodies are bench/run's own).
std::string modelOf(const std::string& body) {
    const auto key = body.find("\"model\"");
    if (key == std::string::npos) return "llama3.2:latest";
    const auto open = body.find('"', body.find(':', key) + 1);
    const auto close = body.find('"', open + 1);
    return open == std::string::npos || close == std::string::npos ? "llama3.2:latest" : body.substr(open + 1, close - open - 1);
}

class Server {
public:
    Server(const Options& options) : _options(options) {}

    int run() {
        _listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        int yes = 1;
        ::setsockopt(_listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(static_cast<std::uint16_t>(_options.port));
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(_listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(_listener, 65535) != 0) {
            std::perror("bind/listen");
            return 1;
        }
        socklen_t length = sizeof address;
        ::getsockname(_listener, reinterpret_cast<sockaddr*>(&address), &length);
        std::printf("listening on http://127.0.0.1:%d\n", ntohs(address.sin_port));
        std::fflush(stdout);

        _epoll = ::epoll_create1(0);
        watch(_listener, EPOLLIN);
        std::vector<epoll_event> events(1024);
        while (!stopping) {
            const int ready = ::epoll_wait(_epoll, events.data(), static_cast<int>(events.size()), millisToNextTimer());
            for (int i = 0; i < ready; ++i) {
                const int fd = events[static_cast<std::size_t>(i)].data.fd;
                if (fd == _listener) acceptAll();
                else serve(fd, events[static_cast<std::size_t>(i)].events);
            }
            fireTimers();
        }
        return 0;
    }

private:
    struct Timer {
        Clock::time_point due;
        int fd;
        bool generation = false;  // --parallel: a whole answer's generation ends
        bool operator>(const Timer& other) const { return due > other.due; }
    };

    void watch(int fd, std::uint32_t events) {
        epoll_event event{};
        event.events = events;
        event.data.fd = fd;
        ::epoll_ctl(_epoll, EPOLL_CTL_ADD, fd, &event);
    }
    void rewatch(int fd, std::uint32_t events) {
        epoll_event event{};
        event.events = events;
        event.data.fd = fd;
        ::epoll_ctl(_epoll, EPOLL_CTL_MOD, fd, &event);
    }

    void acceptAll() {
        for (;;) {
            const int fd = ::accept4(_listener, nullptr, nullptr, SOCK_NONBLOCK);
            if (fd < 0) return;
            int yes = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
            auto connection = std::make_unique<Connection>();
            connection->fd = fd;
            _connections[fd] = std::move(connection);
            watch(fd, EPOLLIN | EPOLLRDHUP);
        }
    }

    void close(int fd) {
        _connections.erase(fd);  // its timer, if any, finds it gone
        ::close(fd);
    }

    void serve(int fd, std::uint32_t events) {
        const auto it = _connections.find(fd);
        if (it == _connections.end()) return;
        auto& connection = *it->second;
        if (events & (EPOLLHUP | EPOLLERR)) return close(fd);
        if (events & EPOLLIN) {
            char buffer[16384];
            for (;;) {
                const auto n = ::recv(fd, buffer, sizeof buffer, 0);
                if (n > 0) {
                    connection.in.append(buffer, static_cast<std::size_t>(n));
                    continue;
                }
                if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return close(fd);
                break;
            }
            if (connection.chunksLeft == 0) takeRequest(connection);
        }
        flush(connection);
    }

    // Answers the request at the front of `in`, if it has arrived whole.
    void takeRequest(Connection& connection) {
        const auto headEnd = connection.in.find("\r\n\r\n");
        if (headEnd == std::string::npos) return;
        const std::string head = connection.in.substr(0, headEnd);
        std::size_t length = 0;
        for (const char* name : {"Content-Length:", "content-length:"})
            if (const auto at = head.find(name); at != std::string::npos) length = std::strtoul(head.c_str() + at + 15, nullptr, 10);
        if (connection.in.size() < headEnd + 4 + length) return;
        const std::string body = connection.in.substr(headEnd + 4, length);
        connection.in.erase(0, headEnd + 4 + length);
        connection.closeAfter = head.find("Connection: close") != std::string::npos;

        if (head.starts_with("GET /v1/models")) {
            connection.out += "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(kModels.size()) + "\r\n\r\n" + kModels;
            return;
        }
        if (!head.starts_with("POST ")) {
            connection.out += "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
            return;
        }
        const auto model = modelOf(body);
        const bool stream = body.find("\"stream\":true") != std::string::npos || body.find("\"stream\": true") != std::string::npos;
        if (!stream && _options.parallel > 0) {
            _generating[connection.fd] = model;
            connection.chunksLeft = -1;  // busy: nothing else is read from it until it is answered
            if (_active < _options.parallel) startGeneration(connection.fd);
            else _waiting.push_back(connection.fd);
            return;
        }
        if (!stream) {
            connection.out += wholeAnswer(model);
            return;
        }
        connection.out += "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
        const bool held = model.starts_with("held");
        connection.chunksLeft = held ? _options.heldChunks : _options.streamChunks;
        connection.intervalMs = model.starts_with("held") ? _options.heldIntervalMs
                              : model.starts_with("stream") ? _options.streamIntervalMs : 0;
        connection.chunkIndex = 0;
        connection.usage = body.find("\"include_usage\":true") != std::string::npos ||
                           body.find("\"include_usage\": true") != std::string::npos;
        sendChunk(connection, model);
    }

    void sendChunk(Connection& connection, const std::string& model) {
        const bool last = connection.chunksLeft == 1;
        connection.out += streamChunk(model, connection.chunkIndex++, last);
        if (--connection.chunksLeft > 0) {
            _models[connection.fd] = model;
            _timers.push({Clock::now() + std::chrono::milliseconds(connection.intervalMs), connection.fd});
            return;
        }
        if (connection.usage)
            connection.out += chunked("data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                                      "\"model\":\"" + model + "\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
                                      "\"completion_tokens\":" + std::to_string(connection.chunkIndex) +
                                      ",\"total_tokens\":" + std::to_string(5 + connection.chunkIndex) + "}}\n\n");
        connection.out += chunked("data: [DONE]\n\n") + "0\r\n\r\n";
        _models.erase(connection.fd);
    }

    void flush(Connection& connection) {
        while (!connection.out.empty()) {
            const auto n = ::send(connection.fd, connection.out.data(), connection.out.size(), MSG_NOSIGNAL);
            if (n > 0) {
                connection.out.erase(0, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                rewatch(connection.fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
                return;
            }
            return close(connection.fd);
        }
        rewatch(connection.fd, EPOLLIN | EPOLLRDHUP);
        if (connection.chunksLeft == 0 && connection.closeAfter) return close(connection.fd);
        // A request that arrived while a stream was running.
        if (connection.chunksLeft == 0 && !connection.in.empty()) {
            takeRequest(connection);
            if (!connection.out.empty()) flush(connection);
        }
    }

    void startGeneration(int fd) {
        ++_active;
        _timers.push({Clock::now() + std::chrono::milliseconds(_options.generationMs), fd, true});
    }

    // A generation ended: its answer goes out, and the first in line starts.
    void finishGeneration(int fd) {
        --_active;
        if (const auto it = _connections.find(fd); it != _connections.end()) {
            auto& connection = *it->second;
            connection.chunksLeft = 0;
            connection.out += wholeAnswer(_generating[fd]);
            flush(connection);
        }
        _generating.erase(fd);
        while (!_waiting.empty() && _active < _options.parallel) {
            const int next = _waiting.front();
            _waiting.pop_front();
            if (_connections.count(next)) startGeneration(next);
            else _generating.erase(next);  // its client went while it waited
        }
    }

    int millisToNextTimer() const {
        if (_timers.empty()) return 500;
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(_timers.top().due - Clock::now()).count();
        return static_cast<int>(std::clamp<long long>(wait, 0, 500));
    }

    void fireTimers() {
        const auto now = Clock::now();
        while (!_timers.empty() && _timers.top().due <= now) {
            const auto timer = _timers.top();
            _timers.pop();
            if (timer.generation) {
                finishGeneration(timer.fd);
                continue;
            }
            const auto it = _connections.find(timer.fd);
            const auto model = _models.find(timer.fd);
            if (it == _connections.end() || model == _models.end() || it->second->chunksLeft == 0) continue;
            sendChunk(*it->second, model->second);
            flush(*it->second);
        }
    }

    Options _options;
    int _listener = -1;
    int _epoll = -1;
    std::unordered_map<int, std::unique_ptr<Connection>> _connections;
    std::unordered_map<int, std::string> _models;  // the model of each stream in progress
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> _timers;
    // --parallel: generations running, and the connections waiting their turn.
    int _active = 0;
    std::deque<int> _waiting;
    std::unordered_map<int, std::string> _generating;  // fd -> model, running or waiting
};

int intFlag(const char* value) { return static_cast<int>(std::strtol(value, nullptr, 10)); }

} // namespace

int main(int argc, char** argv) {
    Options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const int value = intFlag(argv[i + 1]);
        if (flag == "--port") options.port = value;
        else if (flag == "--stream-chunks") options.streamChunks = std::max(1, value);
        else if (flag == "--stream-interval-ms") options.streamIntervalMs = std::max(0, value);
        else if (flag == "--held-chunks") options.heldChunks = std::max(1, value);
        else if (flag == "--held-interval-ms") options.heldIntervalMs = std::max(0, value);
        else if (flag == "--parallel") options.parallel = std::max(0, value);
        else if (flag == "--generation-ms") options.generationMs = std::max(1, value);
        else {
            std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
            return 2;
        }
    }
    // 10,000 connections and more: raise the descriptor limit as far as allowed.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    std::signal(SIGTERM, [](int) { stopping = 1; });
    std::signal(SIGINT, [](int) { stopping = 1; });
    std::signal(SIGPIPE, SIG_IGN);
    return Server(options).run();
}
