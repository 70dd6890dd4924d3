#pragma once
// Small helpers shared by the integration suites.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "FakeBackend.h"
#include "Gateway.h"

namespace sluice::test {

// One fake Ollama (named "gpu-box") behind a gateway that knows it as backend "gpu".
struct OneBackendGateway {
    explicit OneBackendGateway(const std::string& extraConfig = {});
    FakeBackend backend;
    TestGateway gateway;
};

std::string ollamaChat(const std::string& model, bool stream);
std::string openAiChat(const std::string& model, bool stream);
// backends.NAME.* lines for one backend.
std::string backendConfig(const std::string& name, const std::string& url, const std::string& kind = "ollama");
// Splits an NDJSON body into parsed lines.
std::vector<nlohmann::json> ndjsonLines(const std::string& body);
// The data payloads of an SSE body ("[DONE]" included as a string).
std::vector<std::string> sseData(const std::string& body);
// Polls `condition` every 20 ms until it holds or `limit` passes. A bounded wait, not a timing assertion.
bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = std::chrono::seconds(10));
// Sends raw bytes to a port and returns what comes back until the server closes or `limit` passes.
std::string rawExchange(int port, const std::string& bytes, std::chrono::milliseconds limit = std::chrono::seconds(5));

} // namespace sluice::test
