#include "Reloader.h"

#include <Poco/Logger.h>

#include "Config.h"
#include "Logging.h"
#include "SluiceServer.h"
#include "console/Console.h"
#include "sluice/ConfigError.h"

namespace sluice::kernel {

namespace {
using namespace std::chrono_literals;
// How often retired pipelines are checked for requests still running.
constexpr auto kRetireCheck = 50ms;

// Server settings a running listener cannot take on: named so the operator
// knows the reload did not apply them.
std::string restartOnlyChanges(const ServerSettings& running, const ServerSettings& wanted) {
    std::string changed;
    auto note = [&](bool differs, const char* key) {
        if (differs) changed += (changed.empty() ? "" : ", ") + std::string(key);
    };
    note(running.host != wanted.host, "server.host");
    note(running.port != wanted.port, "server.port");
    note(running.ioThreads != wanted.ioThreads, "server.io_threads");
    note(running.maxThreads != wanted.maxThreads, "server.stage_threads");
    note(running.maxQueued != wanted.maxQueued, "server.max_queued");
    note(running.backlog != wanted.backlog, "server.backlog");
    note(running.keepAlive != wanted.keepAlive, "server.keepalive_s");
    note(running.socketTimeout != wanted.socketTimeout, "server.timeout_s");
    note(running.maxHeaderBytes != wanted.maxHeaderBytes, "server.max_header_bytes");
    note(running.readAheadBytes != wanted.readAheadBytes, "server.read_ahead_bytes");
    note(running.tlsCertificate != wanted.tlsCertificate || running.tlsKey != wanted.tlsKey, "server.tls.*");
    note(running.headerTimeout != wanted.headerTimeout, "server.header_timeout_s");
    note(running.bodyTimeout != wanted.bodyTimeout, "server.body_timeout_s");
    note(running.maxConnectionsPerClient != wanted.maxConnectionsPerClient, "server.max_connections_per_client");
    return changed;
}
} // namespace

Reloader::Reloader(std::string configPath, std::string binaryDirectory, Gateway& gateway, AuditWriters& writers,
                   MetricsRegistry& metrics, ConsoleServiceFactory checkConsole)
    : _configPath(std::move(configPath)),
      _binaryDirectory(std::move(binaryDirectory)),
      _checkConsole(std::move(checkConsole)),
      _gateway(gateway),
      _writers(writers),
      _metrics(metrics),
      _reloaded(metrics.counter("sluice_config_reloads_total", "Configuration reloads by result.", {{"result", "applied"}})),
      _refused(metrics.counter("sluice_config_reloads_total", "Configuration reloads by result.", {{"result", "refused"}})),
      _thread([this] { retireLoop(); }) {}

Reloader::~Reloader() {
    {
        std::lock_guard lock(_mutex);
        _stopping = true;
    }
    _changed.notify_all();
    _thread.join();
}

bool Reloader::reload(ServerSettings& running) {
    auto& log = Poco::Logger::get("sluice.kernel");
    std::shared_ptr<Pipeline> next;
    std::string restartOnly;
    std::chrono::seconds drain{};
    try {
        const auto config = loadConfig(_configPath);
        const auto wanted = readServerSettings(*config);
        restartOnly = restartOnlyChanges(running, wanted);
        // The console is built once at start (console/Console.h).
        const auto console = readConsoleSettings(*config, _binaryDirectory);
        // A file the console could not start with is refused, as at start
        // (another auth stage would let nobody, or somebody unknown, in).
        if (console.enabled && _checkConsole) _checkConsole(*config, console, true);
        if (const auto* current = _gateway.console();
            console.enabled != (current != nullptr) ||
            (current && (console.assetsPath != current->settings.assetsPath || console.sessionIdle != current->settings.sessionIdle ||
                         console.sessionMax != current->settings.sessionMax)))
            restartOnly += std::string(restartOnly.empty() ? "" : ", ") + "console.*";
        drain = wanted.drain;
        next = Pipeline::build(config, pluginDirectory(*config, _binaryDirectory), _metrics);
        configureLogging(*config);
    } catch (const std::exception& error) {  // ConfigError names the key; anything else says what failed
        _refused.inc();
        log.error("reload refused, still serving configuration generation " + std::to_string(_gateway.generation()) +
                  ": " + error.what());
        return false;
    }
    // Started before it is installed: its catalog is filled and its audit
    // sinks attached before the first request reaches it.
    next->start(_writers);
    auto old = _gateway.install(next);
    running.drain = drain;
    _reloaded.inc();
    log.information("reloaded: configuration generation " + std::to_string(_gateway.generation()) + ": " +
                    next->describe());
    if (!restartOnly.empty()) log.warning("reload: %s changed; they take effect at the next restart", restartOnly);
    if (old) {
        std::lock_guard lock(_mutex);
        _retired.push_back(std::move(old));
    }
    _changed.notify_all();
    return true;
}

void Reloader::finishRetired(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(_mutex);
    while (!_retired.empty() && std::chrono::steady_clock::now() < deadline) {
        stopIdle(lock);
        _changed.wait_for(lock, kRetireCheck);
    }
    stopIdle(lock);
}

void Reloader::retireLoop() {
    std::unique_lock lock(_mutex);
    while (!_stopping) {
        stopIdle(lock);
        if (_retired.empty()) _changed.wait(lock, [this] { return _stopping || !_retired.empty(); });
        else _changed.wait_for(lock, kRetireCheck);
    }
}

void Reloader::stopIdle(std::unique_lock<std::mutex>& lock) {
    for (auto it = _retired.begin(); it != _retired.end();) {
        // Only this list holds it: no request can take it any more (the
        // gateway publishes the new one), so the count cannot rise again.
        if (it->use_count() != 1) {
            ++it;
            continue;
        }
        auto pipeline = std::move(*it);
        it = _retired.erase(it);
        lock.unlock();
        pipeline->stop();  // audit writers only it used flush here
        pipeline.reset();
        lock.lock();
        it = _retired.begin();  // the list may have changed meanwhile
    }
}

} // namespace sluice::kernel
