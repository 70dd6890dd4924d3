#pragma once
// A real PostgreSQL for a test: a fresh cluster (initdb) in a temporary
// directory, on a free loopback port, trusting local connections, with an
// empty database "sluice". stop() and start() keep the port and the data, so
// a test can take the database away mid-run and bring it back.
//
// PostgreSQL refuses to run as root. As root (the CI), every PostgreSQL tool
// runs through `runuser -u postgres --` and the directory belongs to
// postgres; otherwise they run as the current user. Binaries come from the
// newest /usr/lib/postgresql/<version>/bin (Debian's layout), else from PATH.

#include <filesystem>
#include <string>
#include <vector>

namespace sluice::test {

class PostgresServer {
public:
    // initdb, start, createdb. Throws with the tool's output when a step fails.
    PostgresServer();
    ~PostgresServer();  // stops the server and removes its directory
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    void start();  // again, same port and data; no-op while running
    void stop();   // pg_ctl stop -m fast: clients are disconnected
    bool running() const { return _running; }

    int port() const { return _port; }
    std::string url() const { return "postgresql://postgres@127.0.0.1:" + std::to_string(_port) + "/sluice"; }
    // For libpq's PQconnectdb.
    std::string connectionString() const {
        return "host=127.0.0.1 port=" + std::to_string(_port) + " dbname=sluice user=postgres connect_timeout=5";
    }
    std::string log() const;  // the server's log file, for failure messages

private:
    struct Result {
        int exitCode;
        std::string output;
    };
    // Runs a PostgreSQL tool from the bin directory, as postgres when we are root.
    Result runTool(const std::string& tool, const std::vector<std::string>& args) const;
    void runToolOrThrow(const std::string& tool, const std::vector<std::string>& args) const;
    bool startOn(int port);  // false when the port was taken

    std::filesystem::path _binDir;
    std::filesystem::path _dir;  // owned by the user the server runs as
    std::filesystem::path _dataDir;
    std::filesystem::path _socketDir;
    std::filesystem::path _logFile;
    bool _asPostgres = false;
    int _port = 0;
    bool _running = false;
};

} // namespace sluice::test
