#include "FakeBackend.h"

#include <stdexcept>

#include "HttpClient.h"

namespace sluice::test {

FakeBackend::FakeBackend(const std::string& kind, const std::string& name, const std::vector<std::string>& extra)
    : _kind(kind) {
    std::vector<std::string> args{"--kind", kind, "--host", "127.0.0.1", "--port", "0"};
    if (!name.empty()) args.insert(args.end(), {"--name", name});
    args.insert(args.end(), extra.begin(), extra.end());
    _process = std::make_unique<ChildProcess>(std::string(SLUICE_BIN_DIR) + "/sluice-fake-backend", args);
    const auto port = _process->waitForLine(std::regex(R"(listening on http://[^ ]+:(\d+))"), std::chrono::seconds(10));
    if (!port) throw std::runtime_error("fake backend did not start: " + _process->output());
    _port = std::stoi(*port);
}

std::string FakeBackend::url() const {
    return "http://127.0.0.1:" + std::to_string(_port) + (_kind == "openai" ? "/v1" : "");
}

void FakeBackend::setRules(const nlohmann::json& rules) {
    // One rule may be passed alone: nlohmann reads {rule} as the rule itself, not a list.
    const auto list = rules.is_array() ? rules : nlohmann::json::array({rules});
    const auto result = httpPost(_port, "/_fake/rules", nlohmann::json{{"rules", list}}.dump());
    if (result.status != 200) throw std::runtime_error("fake rejected rules: " + result.body);
}

void FakeBackend::reset() { httpPost(_port, "/_fake/reset", "{}"); }

nlohmann::json FakeBackend::stats() const { return httpGet(_port, "/_fake/stats").json(); }

void FakeBackend::kill() { _process.reset(); }

} // namespace sluice::test
