#pragma once
// Sessions to the store, pooled, for either engine. SQL is written once with
// `?` placeholders; sql() rewrites them as `$1, $2, …` for PostgreSQL, which
// Poco's PostgreSQL connector requires.
// Thread: every method may be called from any thread; a Session from
// session() belongs to one thread until it goes away (back to the pool).

#include <cstddef>
#include <functional>
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

class Database {
public:
    // Opens nothing yet: the first session() connects. maxSessions bounds the
    // connections this process holds.
    explicit Database(StoreUrl url, std::size_t maxSessions = 16);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    Engine engine() const { return _url.engine; }
    const StoreUrl& url() const { return _url; }

    // A pooled session, ready to use. Throws StoreError if the store cannot
    // be reached (the message names the store, not its password).
    Poco::Data::Session session();

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
    StoreUrl _url;
    std::unique_ptr<Poco::Data::SessionPool> _pool;
};

// Current time as the store keeps it: seconds since the epoch.
long long storeNow();

} // namespace sluice::store
