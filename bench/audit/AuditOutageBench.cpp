// What an audit sink's outage costs the requests going through the gateway.
// For each sink, a real sluiced writing to it alone takes a steady load on
// loopback, first with nothing wrong, then with the sink's storage taken away
// for the middle of the run (PostgreSQL stopped, the SQLite file
// write-locked, the jsonl folder unwritable). Printed: the latency of the
// requests due while the fault lasted next to the same window of the
// fault-free run, median and spread over the rounds, and whether each sink
// ended holding every request once.
//
//   sluice-audit-outage-bench [--rate N] [--seconds S] [--rounds R]

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "AuditFaults.h"
#include "FakeBackend.h"
#include "Gateway.h"
#include "PostgresServer.h"
#include "ScratchDir.h"
#include "SteadyLoad.h"
#include "sluice/store/Database.h"
#include "sluice/store/Migrations.h"

using namespace sluice::test;
using namespace std::chrono_literals;

namespace {

struct Options {
    double rate = 200;
    int seconds = 12;
    int rounds = 3;
};

std::string chat(bool stream) {
    return std::string(R"({"model":"llama3.2","messages":[{"role":"user","content":"why is the sky blue"}],"stream":)") +
           (stream ? "true" : "false") + "}";
}

struct Sink {
    std::string name;
    std::string config;                                   // the audit.* lines for it
    std::function<std::vector<std::string>()> storedIds;  // what it holds, duplicates included
    std::unique_ptr<AuditFault> fault;
};

struct Round {
    LatencySummary window;  // requests due while the fault lasted (or the same window without one)
    bool exact = false;     // the sink held each served request exactly once
};

Round runOnce(const Options& options, const FakeBackend& backend, Sink& sink, bool withFault, const std::string& prefix) {
    const auto duration = std::chrono::milliseconds(options.seconds * 1000);
    const auto faultFrom = 2000ms, faultTo = duration - 2000ms;
    TestGateway gateway(baseConfig() + "backends = gpu\nbackends.gpu.url = " + backend.url() +
                        "\nbackends.gpu.kind = ollama\n" +
                        "plugins.load = allow-all, router, discovery, audit\npipeline.audit = " + sink.name + "\n" +
                        sink.config);
    SteadyLoadSettings settings;
    settings.port = gateway.port();
    settings.clients = 8;
    settings.ratePerSecond = options.rate;
    settings.duration = duration;
    settings.idPrefix = prefix;
    settings.request = [](std::uint64_t n) { return std::pair<std::string, std::string>{"/api/chat", chat(n % 2 == 1)}; };
    SteadyLoad load(settings);
    load.start();
    if (withFault) {
        load.sleepUntil(faultFrom);
        sink.fault->begin();
        load.sleepUntil(faultTo);
        sink.fault->end();
    }
    const auto samples = load.wait();
    Round round;
    round.window = summarize(samples, faultFrom, faultTo);
    std::multiset<std::string> served;
    for (const auto& sample : samples)
        if (sample.status == 200) served.insert(sample.requestId);
    for (int wait = 0; wait < 600 && !round.exact; ++wait) {  // up to 60 s for the replay
        std::multiset<std::string> stored;
        for (auto& id : sink.storedIds())
            if (id.rfind(prefix + "-", 0) == 0) stored.insert(id);
        round.exact = stored == served;
        if (!round.exact) std::this_thread::sleep_for(100ms);
    }
    return round;
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

std::string figure(const std::vector<double>& values) {
    char text[96];
    std::snprintf(text, sizeof text, "%7.2f ms (%.2f .. %.2f)", median(values), *std::min_element(values.begin(), values.end()),
                  *std::max_element(values.begin(), values.end()));
    return text;
}

} // namespace

int main(int argc, char** argv) {
    Options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--rate")) options.rate = std::stod(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--seconds")) options.seconds = std::max(6, std::stoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--rounds")) options.rounds = std::max(1, std::stoi(argv[i + 1]));
        else {
            std::fprintf(stderr, "usage: %s [--rate N] [--seconds S] [--rounds R]\n", argv[0]);
            return 2;
        }
    }
    ScratchDir scratch("sluice-audit-bench");
    const auto dir = scratch.path;
    std::filesystem::create_directories(dir / "jsonl");
    PostgresServer postgres;
    {
        sluice::store::Database db(sluice::store::StoreUrl::parse(postgres.url()), 1);
        sluice::store::migrate(db);
    }
    FakeBackend backend("ollama", "gpu-box");
    const std::string writer = "audit.spill_dir = " + (dir / "spill").string() +
                               "\naudit.queue_size = 1000\naudit.flush_ms = 100\naudit.retry_ms = 50\naudit.retry_max_ms = 1000\n";
    const auto sqliteFile = dir / "audit.db";
    const auto jsonlFile = dir / "jsonl" / "audit.jsonl";
    std::vector<Sink> sinks;
    sinks.push_back({"postgresql", "audit.postgresql.url = " + postgres.url() + "\n" + writer,
                     [&] { return auditIdsInDatabase(postgres.url(), ""); }, std::make_unique<PostgresOutage>(postgres)});
    sinks.push_back({"sqlite", "audit.sqlite.url = sqlite:" + sqliteFile.string() + "\n" + writer,
                     [&] { return auditIdsInDatabase("sqlite:" + sqliteFile.string(), ""); },
                     std::make_unique<SqliteWriteLock>(sqliteFile)});
    sinks.push_back({"jsonl", "audit.jsonl.path = " + jsonlFile.string() + "\naudit.jsonl.keep = 1000\n" + writer,
                     [&] { return auditIdsInJsonl(jsonlFile); }, std::make_unique<UnwritableFolder>(dir / "jsonl")});

    std::printf("audit outage: %.0f req/s for %d s, the fault from 2 s to %d s; %d rounds; latency of the requests due in "
                "that window\n\n",
                options.rate, options.seconds, options.seconds - 2, options.rounds);
    std::printf("| sink | fault | p50 no fault | p50 during fault | p99 no fault | p99 during fault | stored exactly once |\n");
    std::printf("| --- | --- | --- | --- | --- | --- | --- |\n");
    int run = 0;
    bool allExact = true;
    for (auto& sink : sinks) {
        std::vector<double> p50[2], p99[2];
        int exact = 0;
        for (int round = 0; round < options.rounds; ++round) {
            for (int withFault = 0; withFault < 2; ++withFault) {
                const auto result = runOnce(options, backend, sink, withFault == 1, "bench" + std::to_string(run++));
                p50[withFault].push_back(result.window.p50Ms);
                p99[withFault].push_back(result.window.p99Ms);
                exact += result.exact ? 1 : 0;
                allExact = allExact && result.exact;
            }
        }
        std::printf("| %s | %s | %s | %s | %s | %s | %d of %d runs |\n", sink.name.c_str(), sink.fault->name().c_str(),
                    figure(p50[0]).c_str(), figure(p50[1]).c_str(), figure(p99[0]).c_str(), figure(p99[1]).c_str(), exact,
                    2 * options.rounds);
        std::fflush(stdout);
    }
    return allExact ? 0 : 1;
}
