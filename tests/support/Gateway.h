#pragma once
// A real sluiced for an integration test, on a free loopback port, with a
// properties file written from the test's text.

#include <memory>
#include <string>

#include <Poco/TemporaryFile.h>

#include "ChildProcess.h"

namespace sluice::test {

// The keys every test gateway shares: loopback, port 0, the built plugins,
// allow-all auth, no active health probes. A test appends its own (later keys win).
std::string baseConfig();

class TestGateway {
public:
    // Starts sluiced and waits until it listens. Throws with its output if it does not.
    explicit TestGateway(const std::string& config);

    int port() const { return _port; }
    // Replaces the properties file's text (for a reload test).
    void rewriteConfig(const std::string& config);
    // SIGHUP: sluiced re-reads its file.
    void reload();
    ChildProcess& process() { return *_process; }
    std::string output() const { return _process->output(); }

private:
    Poco::TemporaryFile _file;
    std::unique_ptr<ChildProcess> _process;
    int _port = 0;
};

struct StartFailure {
    int exitCode = 0;
    std::string output;
};

// Runs sluiced with `config` expecting it to refuse to start.
StartFailure startExpectingFailure(const std::string& config, const std::vector<std::string>& extraArgs = {});

} // namespace sluice::test
