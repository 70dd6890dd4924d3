#pragma once
// A child process for integration tests (sluiced, a fake backend): its output
// is collected line by line so a test can wait for "listening on …", and it
// is stopped (SIGTERM, then SIGKILL) when the object goes away.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {

class ChildProcess {
public:
    ChildProcess(const std::string& command, const std::vector<std::string>& args);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // Waits for an output line matching `pattern`; returns its first capture
    // group (or the whole line), or nullopt if the process ended or time ran out.
    std::optional<std::string> waitForLine(const std::regex& pattern, std::chrono::milliseconds timeout);
    // Waits for the process to end and its output to be read whole; its exit
    // code, or nullopt on time-out.
    std::optional<int> waitForExit(std::chrono::milliseconds timeout);
    void terminate(int signal = 15);
    std::string output() const;
    int pid() const { return _pid; }

private:
    void readOutput(int fd);

    int _pid = -1;
    std::thread _reader;
    mutable std::mutex _mutex;
    std::condition_variable _changed;
    std::vector<std::string> _lines;
    bool _outputClosed = false;
    std::optional<int> _exitCode;
};

} // namespace sluice::test
