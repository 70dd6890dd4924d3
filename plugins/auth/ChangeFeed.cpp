#include "ChangeFeed.h"

#include "SharedKeyCache.h"
#include "sluice/store/StoreError.h"

namespace sluice::auth {

ChangeFeed::ChangeFeed(const AuthSettings& settings, store::AuthStore& store, KeyCache& cache, SharedKeyCache* shared,
                       Poco::Logger& log)
    : _store(store), _cache(cache), _shared(shared), _log(log) {
    if (settings.store.engine == store::Engine::PostgreSQL) {
        _postgres = std::make_unique<store::ChangeListener>(
            settings.store.connectionString, store::AuthStore::kNotifyChannel,
            [this](const std::string& subject) { storeChanged(subject); },
            [this] {
                _cache.clear();
                _log.information("auth: listening for key changes on PostgreSQL");
            },
            [this](const std::string& problem) { _log.warning("auth: " + problem + "; cached keys expire by TTL meanwhile"); });
        _postgres->start();
    } else {
        _poller = std::jthread(
            [this, interval = settings.changePollInterval](std::stop_token stop) { pollChangeLog(stop, interval); });
    }
    if (settings.redis) {
        _redis = std::make_unique<redis::Subscriber>(
            *settings.redis, std::vector<std::string>{kRedisChangesChannel},
            [this](const std::string&, const std::string& subject) { _cache.invalidate(subject); },
            [this] {
                _cache.clear();
                _log.information("auth: listening for key changes on Redis");
            },
            settings.redisTimeout * 4);
        _redis->start();
    }
}

ChangeFeed::~ChangeFeed() {
    if (_redis) _redis->stop();
    if (_postgres) _postgres->stop();
    if (_poller.joinable()) {
        _poller.request_stop();
        _poller.join();
    }
}

void ChangeFeed::storeChanged(const std::string& subject) {
    _cache.invalidate(subject);
    if (_shared == nullptr) return;
    try {
        _shared->retire(subject);
    } catch (const redis::RedisError&) {
        // sluicectl retires them too; Redis outages are reported by the stage.
    }
}

void ChangeFeed::pollChangeLog(std::stop_token stop, std::chrono::milliseconds interval) {
    long long seen = -1;
    bool failing = false;
    while (!stop.stop_requested()) {
        try {
            if (seen < 0) {
                seen = _store.latestChange();
            } else {
                for (const auto& change : _store.changesSince(seen)) {
                    storeChanged(change.subject);
                    seen = change.seq;
                }
            }
            if (failing) _log.information("auth: reading the change log again");
            failing = false;
        } catch (const store::StoreError& e) {
            if (!failing) _log.warning(std::string("auth: ") + e.what() + "; cached keys expire by TTL meanwhile");
            failing = true;
        }
        for (auto waited = std::chrono::milliseconds(0); waited < interval && !stop.stop_requested();
             waited += std::chrono::milliseconds(50))
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

} // namespace sluice::auth
