#pragma once
// Small helpers shared by the integration suites.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <cppunit/TestFixture.h>
#include <nlohmann/json.hpp>

#include "FakeBackend.h"
#include "Gateway.h"
#include "SteadyLoad.h"

namespace sluice::test {

// One fake Ollama (named "gpu-box") behind a gateway that knows it as backend "gpu".
struct OneBackendGateway {
    explicit OneBackendGateway(const std::string& extraConfig = {});
    FakeBackend backend;
    TestGateway gateway;
};

// A CppUnit fixture whose every test gets a fresh OneBackendGateway.
class OneBackendFixture : public CppUnit::TestFixture {
public:
    void setUp() override {
        _setup = std::make_unique<OneBackendGateway>();
        _backend = &_setup->backend;
        _gateway = &_setup->gateway;
    }
    void tearDown() override { _setup.reset(); }

protected:
    std::unique_ptr<OneBackendGateway> _setup;
    FakeBackend* _backend = nullptr;
    TestGateway* _gateway = nullptr;
};

std::string ollamaChat(const std::string& model, bool stream);
std::string openAiChat(const std::string& model, bool stream);
// backends.NAME.* lines for one backend.
std::string backendConfig(const std::string& name, const std::string& url, const std::string& kind = "ollama");
// A steady load of Ollama chats on `port`: `clients` connections, `rate` a
// second in all for `duration`, ids PREFIX-0…; every other one streamed, or
// all of them with allStreamed.
SteadyLoadSettings chatLoad(int port, int clients, double rate, std::chrono::milliseconds duration, const std::string& prefix,
                            bool allStreamed = false);
// plugins.load with the `counting` test sink (tests/plugins/CountingSinkPlugin.cpp)
// as the only audit sink: request ids to DIR/ids, spill files in DIR/spill.
std::string countingSinkConfig(const std::filesystem::path& dir);
// The non-empty lines of a file (none when it does not exist).
std::vector<std::string> linesOf(const std::filesystem::path& file);
// The JSON line of `file` whose request_id is `requestId` (an audit record
// from the jsonl sink), waited for; null when none came within 10 s.
nlohmann::json jsonLineWithId(const std::filesystem::path& file, const std::string& requestId);
// Splits an NDJSON body into parsed lines.
std::vector<nlohmann::json> ndjsonLines(const std::string& body);
// The data payloads of an SSE body ("[DONE]" included as a string).
std::vector<std::string> sseData(const std::string& body);
// How many requests for `path` reached a fake backend.
int requestsAt(const FakeBackend& backend, const std::string& path);
// How many /api/chat requests reached it (discovery polls and health probes not counted).
int chatsAt(const FakeBackend& backend);
// Polls `condition` every 20 ms until it holds or `limit` passes. A bounded wait, not a timing assertion.
// A number from /proc/PID/status ("VmRSS" in KiB, "Threads"), or -1.
long long processStatus(int pid, const std::string& field);

// This process may open as many descriptors as its hard limit allows (tests with thousands of connections).
void raiseDescriptorLimit();

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = std::chrono::seconds(10));
// Sends raw bytes to a port and returns what comes back until the server closes or `limit` passes.
std::string rawExchange(int port, const std::string& bytes, std::chrono::milliseconds limit = std::chrono::seconds(5));

} // namespace sluice::test
