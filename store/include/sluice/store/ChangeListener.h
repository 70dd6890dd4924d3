#pragma once
// Listens on a PostgreSQL NOTIFY channel and hands each payload to a
// callback, so an instance hears of a revoked key within milliseconds.
// Poco::Data does not expose LISTEN, so this holds its own libpq connection.
// Thread: its own; reconnects with a capped back-off until stopped, and calls
// onConnected after every successful LISTEN (notifications sent while it was
// away are lost, so the caller must assume anything may have changed).

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace sluice::store {

class ChangeListener {
public:
    using OnChange = std::function<void(const std::string& payload)>;
    using OnEvent = std::function<void()>;
    using OnError = std::function<void(const std::string& message)>;

    ChangeListener(std::string connectionString, std::string channel, OnChange onChange, OnEvent onConnected,
                   OnError onError);
    ~ChangeListener();
    ChangeListener(const ChangeListener&) = delete;
    ChangeListener& operator=(const ChangeListener&) = delete;

    void start();
    // Returns within a quarter of a second.
    void stop();

private:
    void run();

    std::string _connectionString;
    std::string _channel;
    OnChange _onChange;
    OnEvent _onConnected;
    OnError _onError;
    std::atomic<bool> _stopping{false};
    std::thread _thread;
};

} // namespace sluice::store
