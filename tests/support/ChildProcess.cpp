#include "ChildProcess.h"

#include <csignal>
#include <stdexcept>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace sluice::test {

ChildProcess::ChildProcess(const std::string& command, const std::vector<std::string>& args) {
    int pipeFds[2];
    if (::pipe2(pipeFds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(command.c_str()));
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&_pid, command.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipeFds[1]);
    if (rc != 0) {
        ::close(pipeFds[0]);
        throw std::runtime_error("cannot start " + command);
    }
    _reader = std::thread([this, fd = pipeFds[0]] { readOutput(fd); });
}

ChildProcess::~ChildProcess() {
    if (!waitForExit(std::chrono::milliseconds(0))) {
        terminate(SIGTERM);
        if (!waitForExit(std::chrono::seconds(5))) {
            terminate(SIGKILL);
            waitForExit(std::chrono::seconds(5));
        }
    }
    if (_reader.joinable()) _reader.join();
}

void ChildProcess::readOutput(int fd) {
    std::string pending;
    char buffer[4096];
    while (true) {
        const auto n = ::read(fd, buffer, sizeof buffer);
        if (n <= 0) break;
        pending.append(buffer, static_cast<std::size_t>(n));
        std::size_t newline;
        std::lock_guard lock(_mutex);
        while ((newline = pending.find('\n')) != std::string::npos) {
            _lines.push_back(pending.substr(0, newline));
            pending.erase(0, newline + 1);
        }
        _changed.notify_all();
    }
    ::close(fd);
    std::lock_guard lock(_mutex);
    if (!pending.empty()) _lines.push_back(pending);
    _outputClosed = true;
    _changed.notify_all();
}

std::optional<std::string> ChildProcess::waitForLine(const std::regex& pattern, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lock(_mutex);
    std::size_t checked = 0;
    while (true) {
        for (; checked < _lines.size(); ++checked) {
            std::smatch match;
            if (std::regex_search(_lines[checked], match, pattern)) return match.size() > 1 ? match[1].str() : match[0].str();
        }
        if (_outputClosed) return std::nullopt;
        if (_changed.wait_until(lock, deadline) == std::cv_status::timeout && checked == _lines.size()) return std::nullopt;
    }
}

std::optional<int> ChildProcess::waitForExit(std::chrono::milliseconds timeout) {
    if (_exitCode) return _exitCode;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        int status = 0;
        const auto done = ::waitpid(_pid, &status, WNOHANG);
        if (done == _pid) {
            _exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            // The pipe may still hold the last lines: an exited process's output is whole.
            std::unique_lock lock(_mutex);
            _changed.wait_for(lock, std::chrono::seconds(5), [this] { return _outputClosed; });
            return _exitCode;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void ChildProcess::terminate(int signal) {
    if (!_exitCode) ::kill(_pid, signal);
}

std::string ChildProcess::output() const {
    std::lock_guard lock(_mutex);
    std::string all;
    for (const auto& line : _lines) all += line + "\n";
    return all;
}

} // namespace sluice::test
