#include "PostgresServer.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "ChildProcess.h"

namespace sluice::test {

namespace {

constexpr auto toolTimeout = std::chrono::seconds(60);

std::string findExecutable(const std::string& name) {
    const char* path = std::getenv("PATH");
    // runuser lives in /usr/sbin, which a non-login root PATH may lack.
    std::stringstream dirs(std::string(path ? path : "") + ":/usr/sbin:/sbin:/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        if (dir.empty()) continue;
        const auto candidate = std::filesystem::path(dir) / name;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return {};
}

// The newest /usr/lib/postgresql/<major>/bin with an initdb, else initdb's
// directory on PATH (other distributions).
std::filesystem::path findBinDir() {
    const std::filesystem::path root = "/usr/lib/postgresql";
    std::filesystem::path best;
    long bestVersion = -1;
    std::error_code error;
    for (const auto& entry : std::filesystem::directory_iterator(root, error)) {
        const auto name = entry.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
        const auto version = std::stol(name);
        if (version > bestVersion && ::access((entry.path() / "bin" / "initdb").c_str(), X_OK) == 0) {
            bestVersion = version;
            best = entry.path() / "bin";
        }
    }
    if (!best.empty()) return best;
    const auto initdb = findExecutable("initdb");
    if (!initdb.empty()) return std::filesystem::path(initdb).parent_path();
    throw std::runtime_error("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin or on PATH (install postgresql)");
}

int freeLoopbackPort() {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    return socket.address().port();
}

} // namespace

PostgresServer::PostgresServer() : _binDir(findBinDir()), _asPostgres(::geteuid() == 0) {
    // Under /tmp, not $TMPDIR: as root the postgres user must be able to
    // reach the directory, and /tmp is open to everyone.
    std::string dir = "/tmp/sluice-pg-XXXXXX";
    if (!::mkdtemp(dir.data())) throw std::runtime_error("cannot create a temporary directory in /tmp");
    _dir = dir;
    _dataDir = _dir / "data";
    _socketDir = _dir / "socket";
    _logFile = _dir / "server.log";
    try {
        std::filesystem::create_directory(_socketDir);
        if (_asPostgres) {
            const passwd* postgres = ::getpwnam("postgres");
            if (!postgres) throw std::runtime_error("running as root needs a 'postgres' user to run PostgreSQL as");
            // initdb (as postgres) creates data/ here and pg_ctl writes the log here.
            for (const auto& path : {_dir, _socketDir}) {
                if (::chown(path.c_str(), postgres->pw_uid, postgres->pw_gid) != 0)
                    throw std::runtime_error("cannot give " + path.string() + " to postgres");
            }
        }
        ::chmod(_dir.c_str(), 0700);
        ::chmod(_socketDir.c_str(), 0700);
        // --no-sync: a test cluster need not survive a power cut, and fsync is most of initdb's time.
        runToolOrThrow("initdb", {"-D", _dataDir.string(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                                  "--no-sync"});
        bool started = false;
        for (int attempt = 0; attempt < 5 && !started; ++attempt) started = startOn(freeLoopbackPort());
        if (!started) throw std::runtime_error("PostgreSQL did not start on any of 5 free ports:\n" + log());
        runToolOrThrow("createdb", {"-h", "127.0.0.1", "-p", std::to_string(_port), "-U", "postgres", "sluice"});
    } catch (...) {
        if (_running) runTool("pg_ctl", {"-D", _dataDir.string(), "-m", "immediate", "-w", "stop"});
        std::error_code ignored;
        std::filesystem::remove_all(_dir, ignored);
        throw;
    }
}

PostgresServer::~PostgresServer() {
    if (_running) {
        const auto result = runTool("pg_ctl", {"-D", _dataDir.string(), "-m", "fast", "-w", "-t", "10", "stop"});
        if (result.exitCode != 0) runTool("pg_ctl", {"-D", _dataDir.string(), "-m", "immediate", "-w", "stop"});
    }
    std::error_code ignored;
    std::filesystem::remove_all(_dir, ignored);
}

PostgresServer::Result PostgresServer::runTool(const std::string& tool, const std::vector<std::string>& args) const {
    const auto program = (_binDir / tool).string();
    std::string command = program;
    std::vector<std::string> argv = args;
    if (_asPostgres) {
        command = findExecutable("runuser");
        if (command.empty()) throw std::runtime_error("runuser not found: needed to run PostgreSQL as postgres when root");
        argv = {"-u", "postgres", "--", program};
        argv.insert(argv.end(), args.begin(), args.end());
    }
    ChildProcess process(command, argv);
    const auto code = process.waitForExit(toolTimeout);
    if (!code) throw std::runtime_error(tool + " did not finish within 60 s:\n" + process.output());
    return {*code, process.output()};
}

void PostgresServer::runToolOrThrow(const std::string& tool, const std::vector<std::string>& args) const {
    const auto result = runTool(tool, args);
    if (result.exitCode != 0)
        throw std::runtime_error(tool + " failed (exit " + std::to_string(result.exitCode) + "):\n" + result.output);
}

bool PostgresServer::startOn(int port) {
    // Server settings for a throw-away cluster: loopback only, a private
    // socket directory (/var/run/postgresql may not exist or belong to
    // someone else), and no waiting for the disk.
    const std::string options = "-p " + std::to_string(port) + " -k " + _socketDir.string() +
                                " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
                                " -c full_page_writes=off";
    const auto logBefore = log().size();  // earlier attempts' lines are not this attempt's failure
    const auto result = runTool("pg_ctl", {"-D", _dataDir.string(), "-l", _logFile.string(), "-o", options, "-w", "-t",
                                           "30", "start"});
    if (result.exitCode == 0) {
        _port = port;
        _running = true;
        return true;
    }
    const auto serverLog = log().substr(std::min(logBefore, log().size()));
    if (serverLog.find("Address already in use") != std::string::npos) return false;
    throw std::runtime_error("pg_ctl start failed (exit " + std::to_string(result.exitCode) + "):\n" + result.output +
                             "\nserver log:\n" + serverLog);
}

void PostgresServer::start() {
    if (_running) return;
    if (!startOn(_port)) throw std::runtime_error("PostgreSQL cannot start again: port " + std::to_string(_port) + " is taken");
}

void PostgresServer::stop() {
    if (!_running) return;
    runToolOrThrow("pg_ctl", {"-D", _dataDir.string(), "-m", "fast", "-w", "-t", "30", "stop"});
    _running = false;
}

std::string PostgresServer::log() const {
    std::ifstream in(_logFile);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace sluice::test
