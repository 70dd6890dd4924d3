#include "Gateway.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace sluice::test {

namespace {
std::string writeConfig(Poco::TemporaryFile& file, const std::string& config) {
    std::ofstream out(file.path());
    out << config;
    return file.path();
}
} // namespace

std::string baseConfig() {
    return "server.host = 127.0.0.1\n"
           "server.port = 0\n"
           "plugins.path = " SLUICE_PLUGIN_DIR "\n"
           "pipeline.auth = allow-all\n"
           "pipeline.router = priority\n"
           // Fault rules without a path would also catch health probes at
           // random moments; tests that are about probes turn them on.
           "health.probe_interval_ms = 0\n"
           "log.level = information\n";
}

TestGateway::TestGateway(const std::string& config) {
    const auto path = writeConfig(_file, config);
    _process = std::make_unique<ChildProcess>(std::string(SLUICE_BIN_DIR) + "/sluiced", std::vector<std::string>{"--config", path});
    const auto port = _process->waitForLine(std::regex(R"(listening on https?://[^ ]+:(\d+))"), std::chrono::seconds(15));
    if (!port) throw std::runtime_error("sluiced did not start:\n" + _process->output());
    _port = std::stoi(*port);
}

void TestGateway::rewriteConfig(const std::string& config) {
    // Written aside and renamed over, as an editor or a deployment tool does:
    // a reload never reads a half-written file.
    const auto aside = _file.path() + ".new";
    std::ofstream(aside) << config;
    std::filesystem::rename(aside, _file.path());
}

void TestGateway::reload() { _process->terminate(SIGHUP); }

StartFailure startExpectingFailure(const std::string& config, const std::vector<std::string>& extraArgs) {
    Poco::TemporaryFile file;
    std::vector<std::string> args{"--config", writeConfig(file, config)};
    args.insert(args.end(), extraArgs.begin(), extraArgs.end());
    ChildProcess process(std::string(SLUICE_BIN_DIR) + "/sluiced", args);
    const auto code = process.waitForExit(std::chrono::seconds(15));
    return {code ? *code : -1, process.output()};
}

} // namespace sluice::test
