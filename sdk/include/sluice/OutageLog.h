#pragma once
// Logs a dependency's outage (a store, Redis) once when it starts and once
// when it ends, however many requests run into it meanwhile, so a database
// that stays down cannot flood the log. Thread: ok() and failed() may be
// called from any thread.

#include <atomic>
#include <string>

#include <Poco/Logger.h>

namespace sluice {

class OutageLog {
public:
    // `what` names the dependency ("auth: store"); `meanwhile` says what the
    // plugin does until it is back ("only cached keys are accepted").
    OutageLog(Poco::Logger& log, std::string what, std::string meanwhile, bool asError = true)
        : _log(log), _what(std::move(what)), _meanwhile(std::move(meanwhile)), _asError(asError) {}

    void ok() {
        if (_failing.exchange(false)) _log.information(_what + " is back");
    }

    void failed(const std::string& problem) {
        if (_failing.exchange(true)) return;
        const auto line = _what + " unavailable (" + problem + "); " + _meanwhile;
        if (_asError) _log.error(line);
        else _log.warning(line);
    }

private:
    Poco::Logger& _log;
    const std::string _what;
    const std::string _meanwhile;
    const bool _asError;
    std::atomic<bool> _failing{false};
};

} // namespace sluice
