#pragma once
// A fixed-rate load on loopback for tests and benchmarks that need traffic
// flowing while something else happens (a database stopped, a disk made
// unwritable). Each of `clients` threads keeps one keep-alive connection and
// sends its share of `ratePerSecond` on a fixed schedule for `duration`; a
// request's latency is measured from when it was *due*, so a gateway that
// stalls is charged for the requests that queued up behind the stall.
// Bounded: it sends at most rate × duration requests, then stops.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace sluice::test {

struct LoadSample {
    std::string requestId;
    std::chrono::microseconds dueAt{0};  // since the load started
    std::chrono::microseconds latency{0};
    int status = 0;  // 0: the connection failed
    bool errorInBody = false;  // an answer that carries an "error" (a stream ended by one, say)
    std::string backend;       // X-Sluice-Backend: who served it
};

struct SteadyLoadSettings {
    int port = 0;
    int clients = 4;
    double ratePerSecond = 100;
    std::chrono::milliseconds duration{10000};
    std::string idPrefix = "load";
    // Request `n` of the whole load (0, 1, …): the path and body to POST.
    std::function<std::pair<std::string, std::string>(std::uint64_t n)> request;
};

class SteadyLoad {
public:
    explicit SteadyLoad(SteadyLoadSettings settings);
    ~SteadyLoad();  // waits for the clients
    SteadyLoad(const SteadyLoad&) = delete;
    SteadyLoad& operator=(const SteadyLoad&) = delete;

    void start();
    // Blocks until every client has sent its share; every sample, in no particular order.
    std::vector<LoadSample> wait();
    // Time since start(), for a test that does things at fixed points of the load.
    std::chrono::milliseconds elapsed() const;
    void sleepUntil(std::chrono::milliseconds sinceStart) const;

private:
    void runClient(int index);

    SteadyLoadSettings _settings;
    std::chrono::steady_clock::time_point _start;
    std::vector<std::thread> _clients;
    std::vector<std::vector<LoadSample>> _samples;  // one vector per client
};

// Latency figures of the samples due in [from, to): count, non-200 answers, percentiles.
struct LatencySummary {
    std::size_t count = 0;
    std::size_t failed = 0;
    double p50Ms = 0, p99Ms = 0, maxMs = 0;
};
LatencySummary summarize(const std::vector<LoadSample>& samples, std::chrono::milliseconds from, std::chrono::milliseconds to);
std::string describe(const LatencySummary& summary);

} // namespace sluice::test
