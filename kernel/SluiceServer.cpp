#include "SluiceServer.h"

#include <sched.h>
#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <iostream>
#include <optional>
#include <thread>

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Path.h>
#include <Poco/Util/HelpFormatter.h>
#include <openssl/ssl.h>

#include "Config.h"
#include "Gateway.h"
#include "Logging.h"
#include "Reloader.h"
#include "console/Console.h"
#include "front/FrontHandler.h"
#include "front/IoThreads.h"
#include "front/RequestServer.h"
#include "front/WorkerPool.h"
#include "net/DrainDeadline.h"
#include "sluice/Abi.h"
#include "sluice/ConfigReader.h"

namespace sluice::kernel {

namespace {
constexpr int kExitConfig = 78;       // EX_CONFIG from sysexits.h
constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE: the port is taken

// The signals sluiced acts on: SIGHUP reloads, the others stop it.
sigset_t serviceSignals() {
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal : {SIGHUP, SIGINT, SIGQUIT, SIGTERM}) sigaddset(&signals, signal);
    return signals;
}
} // namespace

// The cores this process may run on (taskset, a container's cpuset), not
// the machine's: a loop more than there are cores to run it only takes
// turns with the others, a switch each time (bench/: 10,000 streams pinned
// to one core).
int defaultIoThreads() {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0) return std::max(1, CPU_COUNT(&allowed));
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

ServerSettings readServerSettings(const Poco::Util::AbstractConfiguration& config) {
    ConfigReader reader(config);
    ServerSettings settings;
    settings.host = reader.text("server.host", settings.host);
    settings.port = static_cast<int>(reader.integer("server.port", settings.port, 0, 65535));
    // server.max_threads is the older name, from when every request had a
    // worker; read when the new one is absent.
    const char* stageThreads = reader.has("server.stage_threads") || !reader.has("server.max_threads") ? "server.stage_threads"
                                                                                                       : "server.max_threads";
    settings.maxThreads = static_cast<int>(reader.integer(stageThreads, settings.maxThreads, 2, 65536));
    settings.maxQueued = static_cast<int>(reader.integer("server.max_queued", settings.maxQueued, 1, 1 << 20));
    settings.ioThreads = static_cast<int>(reader.integer("server.io_threads", settings.ioThreads, 1, 256));
    settings.backlog = static_cast<int>(reader.integer("server.backlog", settings.backlog, 1, 65535));
    settings.keepAlive = std::chrono::seconds(reader.integer("server.keepalive_s", settings.keepAlive.count(), 1, 3600));
    settings.socketTimeout = std::chrono::seconds(reader.integer("server.timeout_s", settings.socketTimeout.count(), 1, 3600));
    settings.drain = std::chrono::seconds(reader.integer("server.drain_s", settings.drain.count(), 0, 86400));
    settings.headerTimeout = std::chrono::seconds(reader.integer("server.header_timeout_s", settings.headerTimeout.count(), 1, 3600));
    settings.bodyTimeout = std::chrono::seconds(reader.integer("server.body_timeout_s", settings.bodyTimeout.count(), 1, 3600));
    settings.writeTimeout = std::chrono::seconds(reader.integer("server.write_timeout_s", settings.writeTimeout.count(), 1, 3600));
    settings.maxConnectionsPerClient = static_cast<std::size_t>(reader.integer(
        "server.max_connections_per_client", static_cast<std::int64_t>(settings.maxConnectionsPerClient), 0, 1 << 20));
    auto resolved = [&](const std::string& key) {
        Poco::Path path(reader.text(key));
        if (path.toString().empty() || path.isAbsolute()) return path.toString();
        const auto base = reader.text("config.dir");
        return base.empty() ? path.toString() : Poco::Path(Poco::Path::forDirectory(base), path).toString();
    };
    settings.tlsCertificate = resolved("server.tls.cert");
    settings.tlsKey = resolved("server.tls.key");
    if (settings.tlsCertificate.empty() != settings.tlsKey.empty())
        throw ConfigError(settings.tlsKey.empty() ? "server.tls.key" : "server.tls.cert",
                          "server.tls.cert and server.tls.key go together");
    settings.reusePort = reader.flag("server.reuse_port", false);
    settings.idleThread = std::chrono::seconds(reader.integer("server.idle_thread_s", settings.idleThread.count(), 1, 86400));
    settings.maxHeaderBytes = static_cast<std::size_t>(
        reader.integer("server.max_header_bytes", static_cast<std::int64_t>(settings.maxHeaderBytes), 8192, 1 << 20));
    settings.readAheadBytes = static_cast<std::size_t>(reader.integer(
        "server.read_ahead_bytes", static_cast<std::int64_t>(settings.readAheadBytes), 1 << 20, std::int64_t{1} << 40));
    return settings;
}

Poco::Net::Context::Ptr serverTlsContext(const ServerSettings& settings) {
    Poco::Net::Context::Params params;
    params.certificateFile = settings.tlsCertificate;
    params.privateKeyFile = settings.tlsKey;
    params.verificationMode = Poco::Net::Context::VERIFY_NONE;  // clients bring API keys, not certificates
    params.loadDefaultCAs = false;
    // TLS 1.2's forward-secret AEAD suites (1.3's are all of that kind).
    params.cipherList = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL:!MD5:!SHA1:!DSS";
    Poco::Net::Context::Ptr context;
    try {
        context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
        context->disableProtocols(Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
                                  Poco::Net::Context::PROTO_TLSV1 | Poco::Net::Context::PROTO_TLSV1_1);
        context->preferServerCiphers();
    } catch (const Poco::Exception& e) {
        throw ConfigError("server.tls.cert", "cannot use " + settings.tlsCertificate + " and " + settings.tlsKey + ": " +
                                                 e.displayText());
    }
    // Poco loads both files without checking that they belong together.
    if (SSL_CTX_check_private_key(context->sslContext()) != 1)
        throw ConfigError("server.tls.key", settings.tlsKey + " is not the private key of " + settings.tlsCertificate);
    return context;
}

std::string pluginDirectory(const Poco::Util::AbstractConfiguration& config, const std::string& binaryDirectory) {
    const auto configured = ConfigReader(config).text("plugins.path", "../lib/sluice");
    Poco::Path path(configured);
    if (path.isRelative()) path = Poco::Path(Poco::Path::forDirectory(binaryDirectory), configured);
    return path.toString();
}

namespace {
// The console, when console.enabled: its settings, its pages, its store side.
std::unique_ptr<Console> openConsole(const Poco::Util::AbstractConfiguration& config, const std::string& binaryDirectory,
                                     const ConsoleServiceFactory& factory, bool checkOnly) {
    auto settings = readConsoleSettings(config, binaryDirectory);
    if (!settings.enabled) return nullptr;
    if (!factory) throw ConfigError("console.enabled", "this build of sluiced has no console");
    ConsoleAssets assets(settings.assetsPath);
    auto service = factory(config, settings, checkOnly);
    if (checkOnly) return nullptr;
    return std::make_unique<Console>(Console{std::move(settings), std::move(assets), std::move(service)});
}
} // namespace

void SluiceServer::defineOptions(Poco::Util::OptionSet& options) {
    ServerApplication::defineOptions(options);
    options.addOption(Poco::Util::Option("config", "c", "properties file to run with").required(false).repeatable(false).argument("FILE"));
    options.addOption(Poco::Util::Option("check", "", "validate the configuration and plugins, then exit").required(false));
    options.addOption(Poco::Util::Option("version", "", "print the version and the plugin ABI, then exit").required(false));
    options.addOption(Poco::Util::Option("help", "h", "show this help").required(false));
}

void SluiceServer::handleOption(const std::string& name, const std::string& value) {
    ServerApplication::handleOption(name, value);
    // Absolute now: --daemon changes the working directory to / later, and a
    // reload reads the file again.
    if (name == "config") _configPath = Poco::Path(value).absolute().toString();
    if (name == "check") _checkOnly = true;
    if (name == "version") {
        _versionRequested = true;
        stopOptionsProcessing();
    }
    if (name == "help") {
        _helpRequested = true;
        stopOptionsProcessing();
    }
}

int SluiceServer::main(const std::vector<std::string>&) {
    if (_versionRequested) {
        std::cout << "sluiced " << SLUICE_VERSION << " (plugin ABI " << SLUICE_ABI_MAJOR << "." << SLUICE_ABI_MINOR << ", "
                  << SLUICE_BUILD_SIGNATURE << ")\n";
        return EXIT_OK;
    }
    if (_helpRequested) {
        Poco::Util::HelpFormatter help(options());
        help.setCommand(commandName());
        help.setUsage("--config FILE [--check] [--daemon --pidfile=FILE]");
        help.setHeader("Sluice: a gateway for Ollama and OpenAI-compatible LLM backends.");
        help.format(std::cout);
        return EXIT_OK;
    }
    if (_configPath.empty()) {
        std::cerr << "sluiced: --config FILE is required (see --help)\n";
        return EXIT_USAGE;
    }
    // Sockets whose peer went away must fail a write, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    // Each open stream holds two sockets (client and backend): take every
    // descriptor the hard limit allows, as nginx's worker_rlimit_nofile does.
    if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    // Blocked here, before any thread starts, so every thread inherits the
    // mask and the signals reach only the sigwait() below, on this thread.
    const auto signals = serviceSignals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    Poco::Net::initializeSSL();

    static MetricsRegistry metrics;
    // First, so it goes last: the log lines still held back (Logging.h) are
    // written however main() ends, after what the rest logs as it goes.
    struct LogsFlushedAtExit {
        ~LogsFlushedAtExit() { flushLogs(); }
    } logsFlushedAtExit;
    // Declared before the gateway and the pipelines: the writers outlive them.
    AuditWriters auditWriters(metrics);
    Gateway gateway(metrics);
    Poco::AutoPtr<Poco::Util::AbstractConfiguration> config;
    std::shared_ptr<Pipeline> pipeline;
    ServerSettings server;
    Poco::Net::Context::Ptr tlsContext;
    std::unique_ptr<Console> console;
    const auto binaryDirectory = Poco::Path(Application::config().getString("application.dir")).toString();
    try {
        config = loadConfig(_configPath);
        configureLogging(*config, _checkOnly);
        server = readServerSettings(*config);
        if (server.tls()) tlsContext = serverTlsContext(server);
        pipeline = Pipeline::build(config, pluginDirectory(*config, binaryDirectory), metrics,
                                   _checkOnly ? BuildPurpose::Check : BuildPurpose::Serve);
        console = openConsole(*config, binaryDirectory, _consoleFactory, _checkOnly);
    } catch (const ConfigError& error) {
        std::cerr << "sluiced: configuration error: " << error.what() << std::endl;
        return kExitConfig;
    }
    auto& log = Poco::Logger::get("sluice.kernel");
    if (_checkOnly) {
        std::cout << "sluiced: configuration OK (" << pipeline->describe() << ")" << std::endl;
        return EXIT_OK;
    }

    // The port first, before any plugin starts a thread or opens a store: a
    // port in use ends the start here, with nothing to undo. Without
    // SO_REUSEPORT (server.reuse_port) a second sluiced on a taken port
    // fails instead of silently taking a share of its connections.
    // With server.tls.*, every accepted connection speaks TLS (the handshake
    // runs on the worker that reads its first request, bounded like any read).
    // A plain listener either way: with TLS each accepted connection is
    // wrapped by the I/O thread that takes it (front/IoThreads).
    Poco::Net::ServerSocket socket;
    try {
        socket.bind(Poco::Net::SocketAddress(server.host, static_cast<Poco::UInt16>(server.port)), true, server.reusePort);
        socket.listen(server.backlog);
    } catch (const Poco::Net::NetException& e) {
        const bool taken = e.code() == EADDRINUSE || e.displayText().find("in use") != std::string::npos;
        std::cerr << "sluiced: cannot listen on " << server.host << ":" << server.port << ": "
                  << (taken ? "the port is in use (another sluiced, or another program; server.port)" : e.displayText())
                  << std::endl;
        return taken ? kExitUnavailable : kExitConfig;
    } catch (const Poco::Exception& e) {
        std::cerr << "sluiced: configuration error: server.port: cannot listen on " << server.host << ":" << server.port
                  << ": " << e.displayText() << std::endl;
        return kExitConfig;
    }

    log.information("pipeline: %s", pipeline->describe());
    pipeline->start(auditWriters);
    gateway.install(pipeline);
    if (console) log.information("console: /console/ (assets from %s)", console->settings.assetsPath);
    gateway.useConsole(std::move(console));
    pipeline.reset();  // the gateway holds it; a reload retires it from there

    // I/O threads own the connections (accept, idle keep-alive, reading
    // each request as it arrives); a worker serves a request once it is in.
    // See front/IoThreads.h and docs/architecture.md (threading model).
    Poco::AutoPtr<Poco::Net::HTTPServerParams> params(new Poco::Net::HTTPServerParams);
    params->setKeepAlive(true);
    params->setMaxKeepAliveRequests(0);
    params->setKeepAliveTimeout(Poco::Timespan(server.keepAlive.count(), 0));
    params->setTimeout(Poco::Timespan(server.socketTimeout.count(), 0));
    params->setServerName("sluice");
    // Our own connections instead of Poco's HTTPServer: they read each request
    // head themselves, without Poco's fixed 8 KiB limit per header value (see
    // front/ServerRequest.h), and answer a refused head in the client's shape.
    HeadLimits limits;
    limits.maxHeaderBytes = server.maxHeaderBytes;
    limits.headTimeout = server.headerTimeout;
    limits.bodyTimeout = server.bodyTimeout;
    limits.writeTimeout = server.writeTimeout;
    RequestServer requests(params, new FrontHandlerFactory(gateway), limits);
    std::optional<WorkerPool> workers(std::in_place, static_cast<std::size_t>(server.maxThreads),
                                      static_cast<std::size_t>(server.maxQueued), server.idleThread);
    FrontSettings front;
    front.ioThreads = static_cast<std::size_t>(server.ioThreads);
    front.keepAlive = server.keepAlive;
    front.maxPerClient = server.maxConnectionsPerClient;
    // Trusted proxies carry many clients: their connections are not capped.
    front.exempt = [&gateway](const Poco::Net::IPAddress& peer) {
        const auto current = gateway.pipeline();
        return current && current->settings().trustedProxies.trusts(peer);
    };
    front.maxBodyBytes = [&gateway] {
        const auto current = gateway.pipeline();
        return current ? current->settings().maxBodyBytes : std::size_t{0};
    };
    front.readAheadBytes = server.readAheadBytes;
    front.tls = tlsContext;
    std::optional<IoThreads> io(std::in_place, socket, std::move(front), requests, *workers);
    // However main() leaves (an exception included), the workers stop
    // before the I/O threads go: a connection a worker still serves is
    // deleted only once no worker can touch it, and a loop that hands a
    // request over after that is told no (503).
    struct StopFront {
        std::optional<WorkerPool>& workers;
        std::optional<IoThreads>& io;
        ~StopFront() {
            if (workers) workers->stop();
            io.reset();
            workers.reset();
        }
    } stopFront{workers, io};
    log.information("listening on %s://%s:%hu (%d I/O threads)", std::string(tlsContext ? "https" : "http"), server.host,
                    socket.address().port(), server.ioThreads);

    Reloader reloader(_configPath, binaryDirectory, gateway, auditWriters, metrics, _consoleFactory);
    for (;;) {
        int signal = 0;
        sigwait(&signals, &signal);
        if (signal != SIGHUP) break;
        log.information("SIGHUP: reloading %s", _configPath);
        reloader.reload(server);
    }

    // Drain: no new connections; idle keep-alive ones close now, busy ones
    // after their answer. What still runs at server.drain_s is ended with
    // the protocol's error (see net/DrainDeadline.h).
    const auto drainEnd = std::chrono::steady_clock::now() + server.drain;
    log.information("stopping: draining %z connections for up to %ds", io->busy(), static_cast<int>(server.drain.count()));
    io->stopAccepting();
    // Closed, not just no longer accepted: a new connection is refused at
    // once, so a load balancer moves on to another instance instead of
    // waiting on a queue that will never be served.
    socket.close();
    while (io->busy() > 0 && std::chrono::steady_clock::now() < drainEnd)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (io->busy() > 0) {
        log.warning("stopping: %z connections still busy after server.drain_s; ending their requests", io->busy());
        drain::end();
        io->endStreams();  // those the loops relay; the others see drain::end() themselves
    }
    workers->stop();  // every request's work is done; the loops close what is left
    io.reset();
    workers.reset();
    // Every request has ended and handed over its audit record: the
    // pipelines let go of the audit writers, which flush (or spill) them
    // before the process exits.
    reloader.finishRetired(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    if (auto last = gateway.install(nullptr)) last->stop();
    return EXIT_OK;
}

} // namespace sluice::kernel
