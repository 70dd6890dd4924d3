#pragma once
// Sessions to the store, pooled, for either engine. SQL is written once with
// `?` placeholders; sql() rewrites them as `$1, $2, …` for PostgreSQL, which
// Poco's PostgreSQL connector requires.
// Thread: every method may be called from any thread; a Session from
// session() belongs to one thread until it goes away (back to the pool).

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>

#include <Poco/Data/Session.h>
#include <Poco/Exception.h>

#include "sluice/store/StoreError.h"
#include "sluice/store/StoreUrl.h"

namespace Poco::Data {
class SessionPool;
}

namespace sluice::store {

// How often a store that cannot be reached is tried again: after a failed
// connect, session() fails at once (with the last error) until `first` has
// passed, then twice as long after each further failure, up to `longest`.
struct ConnectBackoff {
    std::chrono::milliseconds first{100};
    std::chrono::milliseconds longest{5000};
};

class Database {
public:
    // Opens nothing yet: the first session() connects. maxSessions bounds the
    // connections this process holds.
    explicit Database(StoreUrl url, std::size_t maxSessions = 16, ConnectBackoff backoff = {});
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    Engine engine() const { return _url.engine; }
    const StoreUrl& url() const { return _url; }

    // A pooled session, ready to use. Throws StoreError if the store cannot
    // be reached (the message names the store, not its password).
    Poco::Data::Session session();

    // Connections this object tried to open to a PostgreSQL store, failed or
    // not (for tests and metrics: the back-off bounds them during an outage).
    std::size_t connectAttempts() const;

    // The statement text for this engine.
    std::string sql(std::string_view portable) const;

    // Runs `work` in one transaction on one session: committed if it
    // returns, rolled back if it throws (the exception goes on).
    void transaction(const std::function<void(Poco::Data::Session&)>& work);

    // Runs `work` and returns what it returns; a Poco failure inside becomes a
    // StoreError that names the store (never its password) and `what` was
    // being done, so every caller reports failures the same way.
    template <typename Work>
    auto guarded(const char* what, Work&& work) {
        try {
            return work();
        } catch (const StoreError&) {
            throw;
        } catch (const Poco::Exception& e) {
            throw StoreError("store " + _url.display() + ": " + what + ": " + e.displayText());
        }
    }

private:
    using Clock = std::chrono::steady_clock;
    // PostgreSQL, before the pool opens a connection: see Database.cpp.
    void checkReachable();

    StoreUrl _url;
    std::unique_ptr<Poco::Data::SessionPool> _pool;
    const ConnectBackoff _backoff;
    mutable std::mutex _connectMutex;
    Clock::time_point _retryAt{};              // guarded by _connectMutex
    std::chrono::milliseconds _nextWait{0};    // guarded by _connectMutex
    std::string _lastConnectError;             // guarded by _connectMutex
    std::size_t _connectAttempts = 0;          // guarded by _connectMutex
};

// Current time as the store keeps it: seconds since the epoch.
long long storeNow();
// The same in milliseconds, as audit records and the operators' trail keep it.
long long storeNowMs();

} // namespace sluice::store
