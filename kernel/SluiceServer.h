#pragma once
// sluiced: the Poco ServerApplication that reads the config, builds the
// pipeline, and serves HTTP until asked to stop.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include <Poco/Net/Context.h>
#include <Poco/Util/ServerApplication.h>

namespace sluice::kernel {

class ConsoleService;
struct ConsoleSettings;

// Makes the operator console's store side from the properties file
// (admin/StoreConsole), or, for --check, only validates what it would read
// and returns null. Throws ConfigError naming the key.
using ConsoleServiceFactory = std::function<std::unique_ptr<ConsoleService>(
    const Poco::Util::AbstractConfiguration& config, const ConsoleSettings& settings, bool checkOnly)>;

class SluiceServer final : public Poco::Util::ServerApplication {
public:
    // Without a factory, console.enabled is refused (a build with no console).
    explicit SluiceServer(ConsoleServiceFactory consoleFactory = {}) : _consoleFactory(std::move(consoleFactory)) {}

protected:
    void defineOptions(Poco::Util::OptionSet& options) override;
    void handleOption(const std::string& name, const std::string& value) override;
    int main(const std::vector<std::string>& args) override;

private:
    ConsoleServiceFactory _consoleFactory;
    std::string _configPath;
    bool _helpRequested = false;
    bool _versionRequested = false;
    bool _checkOnly = false;
};

// One per core the process may run on.
int defaultIoThreads();

// The front's settings (`server.*`), validated. Throws ConfigError.
struct ServerSettings {
    std::string host = "127.0.0.1";
    int port = 8080;
    int ioThreads = defaultIoThreads();  // event loops owning the connections: one per core
    int maxThreads = 1024;               // workers serving requests (stages, forwarding, streams)
    int maxQueued = 4096;                // requests waiting for a worker; past it 503
    int backlog = 1024;
    std::chrono::seconds keepAlive{60};
    std::chrono::seconds socketTimeout{60};
    bool reusePort = false;              // server.reuse_port: SO_REUSEPORT, several processes on one port
    std::size_t maxHeaderBytes = 65536;
    std::size_t readAheadBytes = 256u << 20;  // request bytes the I/O threads hold for all connections together  // a request's header fields together; larger is answered 431
    std::chrono::seconds headerTimeout{10};  // the whole request head, once its first byte is in; else 408
    std::chrono::seconds bodyTimeout{60};    // the whole request body; else 408
    std::chrono::seconds writeTimeout{60};   // a client that takes no byte of its answer for this long is cut off
    std::chrono::seconds idleThread{60};     // a worker thread unused this long ends
    std::size_t maxConnectionsPerClient = 256;  // open connections per client address (not trusted proxies); 0: any
    // SIGTERM: how long running requests and streams may take to finish
    // before the rest are ended with the protocol's error. Reload applies it.
    std::chrono::seconds drain{30};
    // server.tls.cert / server.tls.key: PEM files (absolute; relative ones are
    // taken from the properties file's folder). Both set: HTTPS only.
    std::string tlsCertificate;
    std::string tlsKey;
    bool tls() const { return !tlsCertificate.empty(); }
};
ServerSettings readServerSettings(const Poco::Util::AbstractConfiguration& config);

// The TLS context of an HTTPS listener: TLS 1.2 and 1.3 only, forward-secret
// AEAD ciphers, the server's preference first. Throws ConfigError naming
// server.tls.cert when the files do not load.
Poco::Net::Context::Ptr serverTlsContext(const ServerSettings& settings);

// Where plugins are looked for: `plugins.path`, relative paths taken from the
// directory of the running binary (default ../lib/sluice from there).
std::string pluginDirectory(const Poco::Util::AbstractConfiguration& config, const std::string& binaryDirectory);

} // namespace sluice::kernel
