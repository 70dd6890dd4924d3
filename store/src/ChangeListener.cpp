#include "sluice/store/ChangeListener.h"

#include <algorithm>
#include <chrono>

#include <libpq-fe.h>
#include <poll.h>

namespace sluice::store {

namespace {
constexpr int kPollMs = 200;
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

std::string firstLine(const char* message) {
    std::string text = message == nullptr ? "" : message;
    const auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}
} // namespace

ChangeListener::ChangeListener(std::string connectionString, std::string channel, OnChange onChange,
                               OnEvent onConnected, OnError onError)
    : _connectionString(std::move(connectionString)),
      _channel(std::move(channel)),
      _onChange(std::move(onChange)),
      _onConnected(std::move(onConnected)),
      _onError(std::move(onError)) {}

ChangeListener::~ChangeListener() { stop(); }

void ChangeListener::start() {
    _stopping = false;
    _thread = std::thread([this] { run(); });
}

void ChangeListener::stop() {
    _stopping = true;
    if (_thread.joinable()) _thread.join();
}

void ChangeListener::run() {
    auto backoff = kFirstBackoff;
    bool reportedOutage = false;
    while (!_stopping) {
        // TCP keep-alives: a connection dropped silently (NAT, fail-over) is
        // noticed in about 20 s instead of the system's two hours.
        PGconn* conn = PQconnectdb((_connectionString +
                                    " connect_timeout=5 keepalives=1 keepalives_idle=10 keepalives_interval=3"
                                    " keepalives_count=3 tcp_user_timeout=20000")
                                       .c_str());
        bool listening = false;
        if (PQstatus(conn) == CONNECTION_OK) {
            PGresult* result = PQexec(conn, ("LISTEN " + _channel).c_str());
            listening = PQresultStatus(result) == PGRES_COMMAND_OK;
            PQclear(result);
        }
        if (!listening) {
            // Once per outage: a store that stays down must not fill the log.
            if (!reportedOutage) _onError("cannot LISTEN for changes: " + firstLine(PQerrorMessage(conn)));
            reportedOutage = true;
            PQfinish(conn);
            for (auto waited = std::chrono::milliseconds(0); waited < backoff && !_stopping; waited += std::chrono::milliseconds(kPollMs))
                std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
            backoff = std::min(backoff * 2, kMaxBackoff);
            continue;
        }
        backoff = kFirstBackoff;
        reportedOutage = false;
        _onConnected();

        while (!_stopping) {
            pollfd fd{PQsocket(conn), POLLIN, 0};
            const int ready = ::poll(&fd, 1, kPollMs);
            if (ready < 0 && errno != EINTR) break;
            if (ready <= 0) continue;
            if (PQconsumeInput(conn) == 0) break;
            while (PGnotify* notify = PQnotifies(conn)) {
                _onChange(notify->extra);
                PQfreemem(notify);
            }
            if (PQstatus(conn) != CONNECTION_OK) break;
        }
        if (!_stopping) {
            _onError("lost the change listener's connection; reconnecting");
            reportedOutage = true;
        }
        PQfinish(conn);
    }
}

} // namespace sluice::store
