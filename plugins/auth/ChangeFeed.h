#pragma once
// Tells the key cache when a tenant or key changed, so a revocation or a
// disabled tenant takes effect on this instance within a second:
//   - PostgreSQL store: LISTEN on the channel the store NOTIFYs in each change's transaction;
//   - Redis configured: the pub/sub channel `sluicectl` publishes on;
//   - SQLite store: polls the store's change log (one process owns the file).
// After any reconnect the cache is cleared, because changes sent while it
// was away are lost. Ownership: the stage owns it; it stops its threads
// before the cache it feeds goes away.

#include <atomic>
#include <memory>
#include <thread>

#include <Poco/Logger.h>

#include "AuthSettings.h"
#include "KeyCache.h"
#include "SharedKeyCache.h"
#include "sluice/redis/Subscriber.h"
#include "sluice/store/AuthStore.h"
#include "sluice/store/ChangeListener.h"

namespace sluice::auth {

class ChangeFeed {
public:
    // `shared` (may be null) is retired on changes heard from the store.
    ChangeFeed(const AuthSettings& settings, store::AuthStore& store, KeyCache& cache, SharedKeyCache* shared,
               Poco::Logger& log);
    ~ChangeFeed();
    ChangeFeed(const ChangeFeed&) = delete;
    ChangeFeed& operator=(const ChangeFeed&) = delete;

private:
    void pollChangeLog(std::stop_token stop, std::chrono::milliseconds interval);
    void storeChanged(const std::string& subject);

    store::AuthStore& _store;
    KeyCache& _cache;
    SharedKeyCache* _shared;
    Poco::Logger& _log;
    std::unique_ptr<store::ChangeListener> _postgres;
    std::unique_ptr<redis::Subscriber> _redis;
    std::jthread _poller;
};

} // namespace sluice::auth
