#include "sluice/store/Database.h"

#include <chrono>
#include <thread>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SessionPool.h>
#include <Poco/File.h>
#include <Poco/Path.h>
#include <libpq-fe.h>

#include "sluice/store/StoreError.h"

namespace sluice::store {

namespace {
// How long session() waits for a pooled session when all are in use before
// it gives up: the pool throws at once where a caller would rather queue.
constexpr auto kPoolWait = std::chrono::seconds(5);
// SQLite: how long a statement waits for another process's write lock
// (sluicectl writing while sluiced reads) before failing.
constexpr int kSqliteBusyTimeoutMs = 5000;

std::string connectorName(Engine engine) { return engine == Engine::SQLite ? "SQLite" : "PostgreSQL"; }
} // namespace

Database::Database(StoreUrl url, std::size_t maxSessions, ConnectBackoff backoff)
    : _url(std::move(url)), _backoff(backoff) {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::PostgreSQL::Connector::registerConnector();
    std::string connection = _url.connectionString;
    if (_url.engine == Engine::SQLite) {
        connection = _url.sqlitePath;
        // The embedded default must work on a fresh machine: make its folder.
        const Poco::Path parent = Poco::Path(_url.sqlitePath).parent();
        try {
            Poco::File(parent).createDirectories();
        } catch (const Poco::Exception& e) {
            throw StoreError("store " + _url.display() + ": cannot create its folder: " + e.message());
        }
    }
    _pool = std::make_unique<Poco::Data::SessionPool>(connectorName(_url.engine), connection, 1,
                                                      static_cast<int>(maxSessions), 60);
    if (_url.engine == Engine::SQLite) {
        // Write-ahead logging: readers (sluiced) and a writer (sluicectl) do
        // not block each other. The mode is stored in the file, so once is enough.
        try {
            auto session = this->session();
            session << "PRAGMA journal_mode = WAL", Poco::Data::Keywords::now;
        } catch (const Poco::Exception& e) {
            throw StoreError("store " + _url.display() + ": cannot open: " + e.displayText());
        }
    }
}

Database::~Database() = default;

std::size_t Database::connectAttempts() const {
    std::lock_guard lock(_connectMutex);
    return _connectAttempts;
}

// Why a connection of our own before Poco's: Poco's PostgreSQL session
// (SessionHandle::connect) keeps the PGconn of a failed PQconnectdb and frees
// it only when connected, so every failed connect leaked about 34 KB, and an
// outage with clients knocking leaked without bound. Our probe frees its
// PGconn whatever happens; Poco connects only once the probe got in (a server
// that fails between the two is the one case left, and it is rare). The
// probe costs a second connection when the pool grows, which pooling makes
// rare. Failures start a back-off shared by every caller of this Database,
// so an outage costs a connect now and then, not one per request.
void Database::checkReachable() {
    std::unique_lock lock(_connectMutex);
    const auto now = Clock::now();
    if (now < _retryAt) throw StoreError("store " + _url.display() + " unreachable: " + _lastConnectError);
    ++_connectAttempts;
    lock.unlock();
    PGconn* probe = PQconnectdb(_url.connectionString.c_str());
    const bool ok = probe && PQstatus(probe) == CONNECTION_OK;
    std::string error = ok ? "" : (probe ? PQerrorMessage(probe) : "out of memory");
    PQfinish(probe);
    while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
    lock.lock();
    if (ok) {
        _nextWait = std::chrono::milliseconds(0);
        _retryAt = {};
        return;
    }
    _nextWait = _nextWait.count() == 0 ? _backoff.first : std::min(_nextWait * 2, _backoff.longest);
    _retryAt = Clock::now() + _nextWait;
    _lastConnectError = error;
    throw StoreError("store " + _url.display() + " unreachable: " + error);
}

Poco::Data::Session Database::session() {
    const auto deadline = std::chrono::steady_clock::now() + kPoolWait;
    while (true) {
        try {
            // No idle session: the pool would open a connection.
            if (_url.engine == Engine::PostgreSQL && _pool->idle() == 0 && _pool->allocated() < _pool->capacity())
                checkReachable();
            auto session = _pool->get();
            if (_url.engine == Engine::SQLite) {
                session << "PRAGMA busy_timeout = " + std::to_string(kSqliteBusyTimeoutMs), Poco::Data::Keywords::now;
                session << "PRAGMA foreign_keys = ON", Poco::Data::Keywords::now;
            }
            return session;
        } catch (const Poco::Data::SessionPoolExhaustedException&) {
            if (std::chrono::steady_clock::now() > deadline)
                throw StoreError("store " + _url.display() + ": all connections busy");
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        } catch (const Poco::Exception& e) {
            // Messages from libpq can quote the connection string's host and
            // user but not its password; still, say only what the operator needs.
            throw StoreError("store " + _url.display() + " unreachable: " + e.displayText());
        }
    }
}

std::string Database::sql(std::string_view portable) const {
    if (_url.engine == Engine::SQLite) return std::string(portable);
    std::string out;
    out.reserve(portable.size() + 16);
    int index = 0;
    bool quoted = false;
    for (const char c : portable) {
        if (c == '\'') quoted = !quoted;
        if (c == '?' && !quoted) {
            out += '$';
            out += std::to_string(++index);
        } else {
            out += c;
        }
    }
    return out;
}

void Database::transaction(const std::function<void(Poco::Data::Session&)>& work) {
    auto session = this->session();
    session.begin();
    try {
        work(session);
        session.commit();
    } catch (...) {
        try {
            session.rollback();
        } catch (...) {
            // The connection is gone; the server rolls back on its own.
        }
        throw;
    }
}

long long storeNow() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

long long storeNowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

} // namespace sluice::store
