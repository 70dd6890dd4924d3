// sluicectl: the operator's command line for Sluice: validate a
// configuration exactly as sluiced would, read a running gateway's health,
// probe the backends and list their models, manage the store (schema,
// tenants, API keys), and read the audit trail and usage.
// Exit status: 0 done, 1 failed, 2 bad arguments.

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
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
#include "sluice/ConfigError.h"

namespace sluicectl {

namespace {

// Options that take a value, for every command (each command then refuses
// the ones it does not use).
const std::set<std::string> kValuedOptions = {"--tenant",  "--models",      "--rpm", "--tpm",        "--concurrent",
                                              "--expires", "--log-prompts", "--key", "--timeout-ms", "--since",
                                              "--limit", "--audit-retention", "--prompt-retention"};

void usage(std::ostream& out) {
    out << "usage: sluicectl [--config FILE] [--json] COMMAND ...\n"
           "\n"
           "gateway:\n"
           "  check-config --config FILE    load FILE and its plugins as sluiced would; print the pipeline or the error\n"
           "  health [--url URL] [--key KEY]  a running gateway's /v1/health (default http://127.0.0.1:8080);\n"
           "                                with apikey auth it needs a key (--key or SLUICE_API_KEY)\n"
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
           "                  [--expires DAYS] [--log-prompts on|off]\n"
           "                  [--audit-retention DAYS] [--prompt-retention DAYS]  0: audit.*retention_days\n"
           "  tenants set NAME [the same options] [--no-expiry] [--default-limits]\n"
           "  tenants enable NAME | tenants disable NAME\n"
           "  tenants list\n"
           "  keys create --tenant NAME [--models a,b | --all-models] [--rpm N] [--tpm N] [--concurrent N]\n"
           "              [--expires DAYS]        prints the new key, once, as the last line\n"
           "  keys list [--tenant NAME]\n"
           "  keys revoke KEYID\n"
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
        sluice::kernel::readServerSettings(*config);
        sluice::MetricsRegistry metrics;
        const auto binaryDirectory = std::filesystem::canonical("/proc/self/exe").parent_path().string();
        auto pipeline =
            sluice::kernel::Pipeline::build(config, sluice::kernel::pluginDirectory(*config, binaryDirectory), metrics);
        std::cout << "configuration OK: " << pipeline->describe() << ", " << pipeline->backends().size() << " backend(s)\n";
        return kExitOk;
    } catch (const sluice::ConfigError& error) {
        throw CommandFailed(std::string("configuration error: ") + error.what());
    }
}

int health(const CommandLine& line) {
    line.allow("health", {"--key"}, 1);
    auto key = line.value("--key");
    if (!key)
        if (const char* env = std::getenv("SLUICE_API_KEY"); env != nullptr && *env != '\0') key = env;
    try {
        Poco::URI uri(line.value("--url").value_or("http://127.0.0.1:8080"));
        Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
        session.setTimeout(Poco::Timespan(5, 0));
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/v1/health", Poco::Net::HTTPMessage::HTTP_1_1);
        if (key) request.set("Authorization", "Bearer " + *key);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::string body;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
        const auto json = nlohmann::json::parse(body, nullptr, false);
        std::cout << (json.is_discarded() ? body : json.dump(2)) << "\n";
        return response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK ? kExitOk : kExitFailure;
    } catch (const Poco::Exception& e) {
        throw CommandFailed("cannot reach the gateway: " + e.displayText());
    }
}

int version(const CommandLine& line) {
    line.allow("version", {}, 1);
    std::cout << "sluicectl 0.1.0 (plugin ABI " << SLUICE_ABI_MAJOR << "." << SLUICE_ABI_MINOR << ", "
              << SLUICE_BUILD_SIGNATURE << ")\n";
    return kExitOk;
}

int run(const std::vector<std::string>& args) {
    const CommandLine line(args, kValuedOptions);
    if (line.words().empty() || line.words()[0] == "help" || line.words()[0] == "-h" || line.has("--help")) {
        usage(std::cout);
        return line.words().empty() && !line.has("--help") ? kExitUsage : kExitOk;
    }
    const auto& command = line.words()[0];
    if (command == "check-config") return checkConfig(line);
    if (command == "health") return health(line);
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
