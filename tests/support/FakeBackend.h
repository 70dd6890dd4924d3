#pragma once
// A running sluice-fake-backend for a test: its port, its fault rules and
// its counters (requests, in flight, connections, cancelled streams).

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ChildProcess.h"

namespace sluice::test {

class FakeBackend {
public:
    // kind: "ollama", "openai" or "anthropic"; extra: further command-line flags.
    explicit FakeBackend(const std::string& kind, const std::string& name = {}, const std::vector<std::string>& extra = {});

    int port() const { return _port; }
    std::string url() const;  // for backends.NAME.url (with /v1 for kind openai)
    void setRules(const nlohmann::json& rules);
    void reset();
    nlohmann::json stats() const;
    // Ends the process: the backend is dead from now on.
    void kill();

private:
    std::string _kind;
    bool _tls = false;
    std::unique_ptr<ChildProcess> _process;
    int _port = 0;
};

} // namespace sluice::test
