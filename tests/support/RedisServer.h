#pragma once
// A real redis-server for a test: a free loopback port, no persistence, its
// files in a temporary directory that goes away with it. stop() and start()
// keep the port, so a test can take Redis away mid-run and bring it back to
// prove that clients recover.

#include <filesystem>
#include <memory>
#include <string>

#include "ChildProcess.h"

namespace sluice::test {

class RedisServer {
public:
    // Starts the server and waits until it answers PING. Throws with its output if it does not.
    RedisServer();
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    void start();  // again, on the same port; no-op while running
    void stop();   // SIGTERM, waits for the exit: its clients see their connections close
    bool running() const { return _process != nullptr; }

    int port() const { return _port; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(_port); }
    std::string output() const;  // the server's log, for failure messages

private:
    bool startOn(int port);  // false when the port was taken

    std::filesystem::path _dir;
    int _port = 0;
    std::unique_ptr<ChildProcess> _process;
    std::string _lastOutput;
};

} // namespace sluice::test
