#include "RedisServer.h"

#include <csignal>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <sys/socket.h>
#include <unistd.h>

#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

namespace sluice::test {

namespace {

std::string findExecutable(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(std::string(path ? path : "") + ":/usr/local/bin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty()) continue;
        const auto candidate = std::filesystem::path(dir) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    throw std::runtime_error(name + " not found (install redis-server)");
}

// Bound and released: another process could take it before Redis does, which
// is why startOn() reports a clash and the caller tries another.
int freeLoopbackPort() {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    return socket.address().port();
}

bool answersPing(int port) {
    try {
        Poco::Net::StreamSocket socket;
        socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), Poco::Timespan(0, 200'000));
        socket.setReceiveTimeout(Poco::Timespan(0, 500'000));
        socket.sendBytes("PING\r\n", 6, MSG_NOSIGNAL);
        char reply[16] = {};
        const int n = socket.receiveBytes(reply, sizeof reply);
        return n >= 5 && std::string(reply, 5) == "+PONG";
    } catch (const Poco::Exception&) {
        return false;
    }
}

} // namespace

RedisServer::RedisServer() {
    const auto pattern = (std::filesystem::temp_directory_path() / "sluice-redis-XXXXXX").string();
    std::string dir = pattern;
    if (!::mkdtemp(dir.data())) throw std::runtime_error("cannot create a temporary directory from " + pattern);
    _dir = dir;
    for (int attempt = 0; attempt < 5; ++attempt) {
        if (startOn(freeLoopbackPort())) return;
    }
    std::filesystem::remove_all(_dir);
    throw std::runtime_error("redis-server did not start on any of 5 free ports:\n" + _lastOutput);
}

RedisServer::~RedisServer() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(_dir, ignored);
}

void RedisServer::start() {
    if (_process) return;
    // The same port: clients under test hold the URL. Redis sets SO_REUSEADDR,
    // so the old connections' TIME_WAIT does not block it; another process might.
    for (int attempt = 0; attempt < 3; ++attempt) {
        if (startOn(_port)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    throw std::runtime_error("redis-server did not start again on port " + std::to_string(_port) + ":\n" + _lastOutput);
}

bool RedisServer::startOn(int port) {
    _port = port;
    const auto portText = std::to_string(port);
    auto process = std::make_unique<ChildProcess>(
        findExecutable("redis-server"),
        std::vector<std::string>{"--port", portText, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                                 _dir.string(), "--pidfile", (_dir / ("redis-" + portText + ".pid")).string(),
                                 "--daemonize", "no"});
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        if (answersPing(port)) {
            _process = std::move(process);
            return true;
        }
        if (process->waitForExit(std::chrono::milliseconds(0))) {
            _lastOutput = process->output();
            if (_lastOutput.find("Address already in use") != std::string::npos) return false;
            throw std::runtime_error("redis-server exited at start:\n" + _lastOutput);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    _lastOutput = process->output();
    throw std::runtime_error("redis-server did not answer PING within 10 s:\n" + _lastOutput);
}

void RedisServer::stop() {
    if (!_process) return;
    _process->terminate(SIGTERM);
    if (!_process->waitForExit(std::chrono::seconds(5))) _process->terminate(SIGKILL);
    _lastOutput = _process->output();
    _process.reset();  // waits for a killed process too
}

std::string RedisServer::output() const { return _process ? _process->output() : _lastOutput; }

} // namespace sluice::test
