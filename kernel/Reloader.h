#pragma once
// Live reload: re-reads the properties file, validates all of it by building
// a whole new pipeline (plugins, stages, backends, aliases, limits), starts
// it and swaps it in. Requests already running finish on the pipeline they
// started with; that pipeline is stopped once its last request has ended.
// A file that does not load or validate changes nothing: the running
// pipeline stays and one log line says why.
// Thread: reload() from the main thread (on SIGHUP); retired pipelines are
// stopped on the reloader's own thread.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "Gateway.h"
#include "audit/AuditWriters.h"

#include "SluiceServer.h"

namespace sluice::kernel {

struct ServerSettings;

class Reloader {
public:
    // `checkConsole` validates a file's console.* as sluiced's start does
    // (SluiceServer's factory, asked only to check); may be empty.
    Reloader(std::string configPath, std::string binaryDirectory, Gateway& gateway, AuditWriters& writers,
             MetricsRegistry& metrics, ConsoleServiceFactory checkConsole = {});
    ~Reloader();  // stops the retiring thread (call finishRetired() first to wait for requests)
    Reloader(const Reloader&) = delete;
    Reloader& operator=(const Reloader&) = delete;

    // Builds the pipeline of the file as it is now and installs it. False:
    // refused, and the running pipeline serves on. `running`: the server
    // settings the listener was started with; changes to them are named as
    // needing a restart.
    // On success the settings a reload applies (server.drain_s) are updated in `running`.
    bool reload(ServerSettings& running);

    // Waits until every retired pipeline's requests have ended (or `deadline`
    // passes) and stops those pipelines. For shutdown.
    void finishRetired(std::chrono::steady_clock::time_point deadline);

private:
    void retireLoop();
    // Stops and drops the retired pipelines no request uses any more. Lock held.
    void stopIdle(std::unique_lock<std::mutex>& lock);

    const std::string _configPath;
    const std::string _binaryDirectory;
    const ConsoleServiceFactory _checkConsole;
    Gateway& _gateway;
    AuditWriters& _writers;
    MetricsRegistry& _metrics;
    Counter& _reloaded;
    Counter& _refused;

    std::mutex _mutex;
    std::condition_variable _changed;
    std::vector<std::shared_ptr<Pipeline>> _retired;  // guarded by _mutex
    bool _stopping = false;
    std::thread _thread;
};

} // namespace sluice::kernel
