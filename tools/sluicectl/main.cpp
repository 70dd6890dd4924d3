// sluicectl: the operator's command line for Sluice: validate a
// configuration exactly as sluiced would, read a running gateway's health,
// probe the backends and list their models, manage the store (schema,
// tenants, API keys), and read the audit trail and usage.
// Exit status: 0 done, 1 failed, 2 bad arguments.

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/StreamCopier.h>
#include <Poco/URI.h>
#include <nlohmann/json.hpp>

#include "AuditCommands.h"
#include "BackendCommands.h"
#include "CommandLine.h"
#include "Config.h"
#include "Pipeline.h"
#include "SluiceServer.h"
#include "StoreCommands.h"
#include "sluice/BackendTls.h"
#include "sluice/ConfigError.h"

namespace sluicectl {

namespace {

// Options that take a value, for every command (each command then refuses
// the ones it does not use).
const std::set<std::string> kValuedOptions = {"--tenant",  "--models",      "--rpm", "--tpm",        "--concurrent",
                                              "--expires", "--log-prompts", "--key", "--timeout-ms", "--since",
                                              "--limit", "--audit-retention", "--prompt-retention", "--pidfile", "--ca-file",
                                              "--priority", "--weight", "--admin"};

void usage(std::ostream& out) {
    out << "usage: sluicectl [--config FILE] [--json] COMMAND ...\n"
           "\n"
           "gateway:\n"
           "  check-config --config FILE    load FILE and its plugins as sluiced would; print the pipeline or the error\n"
           "  health [--url URL] [--key KEY] [--ca-file PEM]  a running gateway's /v1/health\n"
           "                                (default http://127.0.0.1:8080; https checks the certificate);\n"
           "                                with apikey auth it needs a key (--key or SLUICE_API_KEY)\n"
           "  reload [--pidfile FILE] [--url URL [--key KEY] [--ca-file PEM] [--timeout-ms N]]\n"
           "                                SIGHUP to the sluiced in FILE (default /run/sluice/sluiced.pid);\n"
           "                                with --url, waits for the new configuration generation\n"
           "  version                       the version and the plugin ABI\n"
           "\n"
           "backends (need --config FILE or SLUICE_CONFIG; read backends.*):\n"
           "  backends probe [--timeout-ms N]  every backend at once, each within N ms (default 5000):\n"
           "                                reachable or not and why, version, model count, round trip, auth\n"
           "  models                        each backend's models through the configured discovery stage,\n"
           "                                loaded ones marked, and the count across all backends\n"
           "\n"
           "store (needs --config FILE or SLUICE_CONFIG; reads store.url, redis.url, auth.*):\n"
           "  migrate                       apply schema migrations\n"
           "  tenants create NAME [--models a,b | --all-models] [--rpm N] [--tpm N] [--concurrent N]\n"
           "                  [--expires DAYS] [--priority interactive|batch] [--weight N] [--log-prompts on|off]\n"
           "                  [--audit-retention DAYS] [--prompt-retention DAYS]  0: audit.*retention_days\n"
           "                  [--admin on|off]  its keys may open the operator console\n"
           "  tenants set NAME [the same options] [--no-expiry] [--default-limits]\n"
           "  tenants enable NAME | tenants disable NAME\n"
           "  tenants list\n"
           "  keys create --tenant NAME [--models a,b | --all-models] [--rpm N] [--tpm N] [--concurrent N]\n"
           "              [--expires DAYS] [--priority interactive|batch] [--weight N] [--admin on|off]\n"
           "                                prints the new key, once, as the last line\n"
           "  keys list [--tenant NAME]\n"
           "  keys revoke KEYID             final\n"
           "  keys disable KEYID | keys enable KEYID\n"
           "  keys set KEYID --admin on|off  whether the key may open the operator console\n"
           "\n"
           "audit (needs --config FILE or SLUICE_CONFIG; reads audit.*.url or store.url):\n"
           "  audit tail [--tenant T] [--since 1h] [--limit N]  the newest records, newest last (default 100)\n"
           "  usage [--tenant T] [--since 30d]  requests and tokens per tenant and model, and totals\n"
           "                                durations: 30s, 15m, 1h, 7d\n"
           "\n"
           "Limits: 0 means unlimited; an unset limit uses the gateway's default.\n"
           "Exit status: 0 done, 1 failed (for backends probe and models: a backend failed), 2 bad arguments.\n";
}

int checkConfig(const CommandLine& line) {
    line.allow("check-config", {}, 1);
    const auto path = line.value("--config");
    if (!path) throw UsageError("check-config needs --config FILE");
    try {
        auto config = sluice::kernel::loadConfig(*path);
        const auto server = sluice::kernel::readServerSettings(*config);
        if (server.tls()) {
            Poco::Net::initializeSSL();
            sluice::kernel::serverTlsContext(server);
        }  // the certificate and key load and match
        sluice::MetricsRegistry metrics;
        const auto binaryDirectory = std::filesystem::canonical("/proc/self/exe").parent_path().string();
        auto pipeline = sluice::kernel::Pipeline::build(config, sluice::kernel::pluginDirectory(*config, binaryDirectory),
                                                        metrics, sluice::BuildPurpose::Check);
        std::cout << "configuration OK: " << pipeline->describe() << ", " << pipeline->backends().size() << " backend(s)\n";
        return kExitOk;
    } catch (const sluice::ConfigError& error) {
        throw CommandFailed(std::string("configuration error: ") + error.what());
    }
}

struct HealthAnswer {
    int status = 0;
    std::string body;
    nlohmann::json json;  // discarded when the body is not JSON
};

// GET /v1/health of the gateway at --url (default http://127.0.0.1:8080),
// with --key or SLUICE_API_KEY when set.
HealthAnswer fetchHealth(const CommandLine& line) {
    auto key = line.value("--key");
    if (!key)
        if (const char* env = std::getenv("SLUICE_API_KEY"); env != nullptr && *env != '\0') key = env;
    try {
        Poco::URI uri(line.value("--url").value_or("http://127.0.0.1:8080"));
        // An https gateway's certificate is checked as a backend's is: the
        // system's CAs, plus --ca-file for a private CA or a self-signed one.
        std::unique_ptr<Poco::Net::HTTPClientSession> connection;
        if (uri.getScheme() == "https") {
            Poco::Net::initializeSSL();
            sluice::Backend gateway;
            gateway.host = uri.getHost();
            gateway.tlsCaFile = line.value("--ca-file").value_or("");
            connection = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(),
                                                                         sluice::makeBackendTlsContext(gateway));
        } else if (uri.getScheme() == "http") {
            connection = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
        } else {
            throw UsageError("--url must be http://… or https://…");
        }
        auto& session = *connection;
        session.setTimeout(Poco::Timespan(5, 0));
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/v1/health", Poco::Net::HTTPMessage::HTTP_1_1);
        if (key) request.set("Authorization", "Bearer " + *key);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        HealthAnswer answer;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), answer.body);
        answer.status = static_cast<int>(response.getStatus());
        answer.json = nlohmann::json::parse(answer.body, nullptr, false);
        return answer;
    } catch (const Poco::Exception& e) {
        throw CommandFailed("cannot reach the gateway: " + e.displayText());
    }
}

int health(const CommandLine& line) {
    line.allow("health", {"--key", "--ca-file"}, 1);
    const auto answer = fetchHealth(line);
    std::cout << (answer.json.is_discarded() ? answer.body : answer.json.dump(2)) << "\n";
    return answer.status == 200 ? kExitOk : kExitFailure;
}

// The configuration generation a gateway reports; CommandFailed when it does not answer with one.
std::uint64_t generationOf(const CommandLine& line) {
    const auto answer = fetchHealth(line);
    if (answer.status != 200 || !answer.json.is_object()) {
        throw CommandFailed("the gateway's /v1/health answered " + std::to_string(answer.status) +
                            (answer.status == 401 ? " (give --key or SLUICE_API_KEY)" : ""));
    }
    return answer.json.value("config_generation", std::uint64_t(0));
}

int reload(const CommandLine& line) {
    line.allow("reload", {"--pidfile", "--key", "--timeout-ms", "--ca-file"}, 1);
    const auto pidFile = line.value("--pidfile").value_or("/run/sluice/sluiced.pid");
    std::ifstream in(pidFile);
    long pid = 0;
    if (!(in >> pid) || pid <= 1) throw CommandFailed("cannot read a process id from " + pidFile);
    if (::kill(static_cast<pid_t>(pid), 0) != 0)
        throw CommandFailed("no process " + std::to_string(pid) + " (from " + pidFile + "): is sluiced running?");
    // With --url, wait for the gateway to report the new generation: a file
    // it refused leaves the old one, and its log says why.
    const bool confirm = line.value("--url").has_value();
    const auto before = confirm ? generationOf(line) : 0;
    if (::kill(static_cast<pid_t>(pid), SIGHUP) != 0) throw CommandFailed("cannot signal process " + std::to_string(pid));
    if (!confirm) {
        std::cout << "sent SIGHUP to sluiced (pid " << pid << "); its log says whether the file was applied\n";
        return kExitOk;
    }
    const auto timeout = std::chrono::milliseconds(line.number("--timeout-ms", 100, 600000).value_or(15000));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (const auto now = generationOf(line); now > before) {
            std::cout << "reloaded: configuration generation " << now << "\n";
            return kExitOk;
        }
    }
    throw CommandFailed("still configuration generation " + std::to_string(before) +
                        ": the file was refused (sluiced's log says why) or the reload has not finished");
}

int version(const CommandLine& line) {
    line.allow("version", {}, 1);
    std::cout << "sluicectl " << SLUICE_VERSION << " (plugin ABI " << SLUICE_ABI_MAJOR << "." << SLUICE_ABI_MINOR << ", "
              << SLUICE_BUILD_SIGNATURE << ")\n";
    return kExitOk;
}

int run(const std::vector<std::string>& args) {
    if (args.size() == 1 && args[0] == "--version") return version(CommandLine({"version"}, kValuedOptions));
    const CommandLine line(args, kValuedOptions);
    if (line.words().empty() || line.words()[0] == "help" || line.words()[0] == "-h" || line.has("--help")) {
        usage(std::cout);
        return line.words().empty() && !line.has("--help") ? kExitUsage : kExitOk;
    }
    const auto& command = line.words()[0];
    if (command == "check-config") return checkConfig(line);
    if (command == "health") return health(line);
    if (command == "reload") return reload(line);
    if (command == "version") return version(line);
    if (command == "backends") return runBackends(line);
    if (command == "models") return runModels(line);
    if (command == "migrate") return runMigrate(line);
    if (command == "tenants") return runTenants(line);
    if (command == "keys") return runKeys(line);
    if (command == "audit") return runAudit(line);
    if (command == "usage") return runUsage(line);
    throw UsageError("unknown command '" + command + "' (sluicectl help lists them)");
}

} // namespace

} // namespace sluicectl

int main(int argc, char** argv) {
    try {
        return sluicectl::run(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const sluicectl::UsageError& e) {
        std::cerr << "sluicectl: " << e.what() << "\n";
        return sluicectl::kExitUsage;
    } catch (const sluicectl::CommandFailed& e) {
        std::cerr << "sluicectl: " << e.what() << "\n";
        return sluicectl::kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << "sluicectl: " << e.what() << "\n";
        return sluicectl::kExitFailure;
    }
}
