#pragma once
// Faults an audit sink must ride out, for tests and benchmarks that run
// traffic through a real gateway: each takes one sink's storage away at
// begin() and gives it back at end(). And readers that list what a sink
// stored, duplicates included, to check it against what was served.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace Poco::Data {
class Session;
}

namespace sluice::test {

class PostgresServer;

class AuditFault {
public:
    virtual ~AuditFault() = default;
    virtual std::string name() const = 0;
    virtual void begin() = 0;
    virtual void end() = 0;
};

// The server stopped (clients disconnected, connections refused), then started again.
class PostgresOutage : public AuditFault {
public:
    explicit PostgresOutage(PostgresServer& server) : _server(server) {}
    std::string name() const override { return "postgresql stopped"; }
    void begin() override;
    void end() override;

private:
    PostgresServer& _server;
};

// Another connection holds the database's write lock (BEGIN IMMEDIATE and a
// write, uncommitted): every other writer waits out its busy timeout and fails.
class SqliteWriteLock : public AuditFault {
public:
    explicit SqliteWriteLock(std::filesystem::path database);
    ~SqliteWriteLock() override;
    std::string name() const override { return "sqlite locked"; }
    void begin() override;
    void end() override;
    // Whether another connection is refused the write lock now (it is, while begun).
    bool holds() const;

private:
    std::filesystem::path _database;
    std::unique_ptr<Poco::Data::Session> _holder;
};

// The folder is moved aside and a plain file put where it was, so opening
// anything inside fails (ENOTDIR) even for root, whom permissions do not stop.
class UnwritableFolder : public AuditFault {
public:
    explicit UnwritableFolder(std::filesystem::path folder) : _folder(std::move(folder)) {}
    ~UnwritableFolder() override;
    std::string name() const override { return "jsonl folder unwritable"; }
    void begin() override;
    void end() override;

private:
    std::filesystem::path _folder;
    bool _active = false;
};

// Every request id in audit_records at `storeUrl` whose id starts with `prefix`.
std::vector<std::string> auditIdsInDatabase(const std::string& storeUrl, const std::string& prefix);
// Every request id in the jsonl sink's file and its rotated files (FILE.1, FILE.2, …).
std::vector<std::string> auditIdsInJsonl(const std::filesystem::path& file);

} // namespace sluice::test
