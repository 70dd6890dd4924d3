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
    const auto url = _process->waitForLine(std::regex(R"(listening on (https?://[^ ]+:\d+))"), std::chrono::seconds(10));
    if (!url) throw std::runtime_error("fake backend did not start: " + _process->output());
    _tls = url->starts_with("https");
    _port = std::stoi(url->substr(url->rfind(':') + 1));
}

std::string FakeBackend::url() const {
    return (_tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(_port) + (_kind == "openai" ? "/v1" : "");
}

void FakeBackend::setRules(const nlohmann::json& rules) {
    // One rule may be passed alone: nlohmann reads {rule} as the rule itself, not a list.
    const auto list = rules.is_array() ? rules : nlohmann::json::array({rules});
    const auto result = HttpClient(_port, std::chrono::seconds(10), _tls).post("/_fake/rules", nlohmann::json{{"rules", list}}.dump());
    if (result.status != 200) throw std::runtime_error("fake rejected rules: " + result.body);
}

void FakeBackend::reset() { HttpClient(_port, std::chrono::seconds(10), _tls).post("/_fake/reset", "{}"); }

nlohmann::json FakeBackend::stats() const { return HttpClient(_port, std::chrono::seconds(10), _tls).get("/_fake/stats").json(); }

void FakeBackend::kill() { _process.reset(); }

} // namespace sluice::test
