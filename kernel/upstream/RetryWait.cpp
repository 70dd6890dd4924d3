#include "RetryWait.h"

#include <algorithm>
#include <cerrno>
#include <random>
#include <string>

#include <poll.h>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeParser.h>

#include "http/ClientChannel.h"
#include "net/DrainDeadline.h"

namespace sluice::kernel {

std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        // Anything past a day is "too long" to any policy: no need to parse further.
        if (value.size() > 6) return std::chrono::milliseconds(std::chrono::hours(24));
        return std::chrono::seconds(std::stol(std::string(value)));
    }
    // Poco's parser is lenient (a word parses as a date in year 0): an
    // HTTP-date has a time of day and a four-digit year, or it is not one.
    Poco::DateTime date;
    int zone = 0;
    if (value.find(':') == std::string_view::npos ||
        !Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::HTTP_FORMAT, std::string(value), date, zone) ||
        date.year() < 1970)
        return std::nullopt;
    const auto at = std::chrono::system_clock::from_time_t(date.timestamp().epochTime()) - std::chrono::seconds(zone);
    return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(at - now));
}

std::optional<std::chrono::milliseconds> retryWait(const RetryPolicy& policy, int retry, std::string_view retryAfter,
                                                   double unit, std::chrono::system_clock::time_point now) {
    if (const auto asked = parseRetryAfter(retryAfter, now)) {
        if (*asked > policy.maxWait) return std::nullopt;
        return *asked;
    }
    const auto doubled = policy.backoff.count() << std::clamp(retry - 1, 0, 20);
    const auto half = doubled / 2;
    return std::min(policy.maxWait,
                    std::chrono::milliseconds(half + static_cast<long long>(unit * static_cast<double>(doubled - half))));
}

double jitterUnit() {
    thread_local std::minstd_rand generator{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
}

namespace {
// Until `fd` is readable (a negative fd never is), the client hangs up
// (`clientFd` >= 0), the drain deadline passes, or `until`; with a thread held.
WaitEnd pollUntil(int fd, int clientFd, std::chrono::steady_clock::time_point until) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return WaitEnd::Timeout;
        // A negative fd is skipped by poll: no client socket, or no drain eventfd.
        pollfd fds[3] = {{fd, POLLIN, 0}, {clientFd, POLLRDHUP, 0}, {drain::fd(), POLLIN, 0}};
        const int ready = ::poll(fds, 3, static_cast<int>(std::min<long long>(left.count(), 60000)));
        if (ready < 0 && errno != EINTR) return WaitEnd::Timeout;
        if (ready <= 0) continue;
        if (fds[0].revents != 0) return WaitEnd::Ready;
        if (clientFd >= 0 && (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) return WaitEnd::ClientGone;
        if (fds[2].revents != 0) return WaitEnd::Draining;
    }
}

PauseEnd pauseEnd(WaitEnd end) {
    if (end == WaitEnd::ClientGone) return PauseEnd::ClientGone;
    if (end == WaitEnd::Draining) return PauseEnd::Draining;
    return PauseEnd::Waited;
}
} // namespace

PauseEnd pauseBeforeRetry(int clientFd, std::chrono::milliseconds wait) {
    return pauseEnd(pollUntil(-1, clientFd, std::chrono::steady_clock::now() + wait));
}

WaitEnd awaitReadable(ClientChannel& client, int fd, std::chrono::steady_clock::time_point deadline) {
    if (const auto end = client.waitParked(fd, Await::Readable, deadline)) return *end;
    return pollUntil(fd, client.socketFd(), deadline);
}

} // namespace sluice::kernel
