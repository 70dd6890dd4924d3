// sluicectl: the operator's command line for Sluice. Today it validates a
// configuration exactly as sluiced would and reads a running gateway's
// health; later issues add keys, tenants, audit and reload.

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

#include "Config.h"
#include "Pipeline.h"
#include "SluiceServer.h"
#include "sluice/ConfigError.h"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitUnavailable = 69;
constexpr int kExitConfig = 78;

void usage(std::ostream& out) {
    out << "usage: sluicectl COMMAND [options]\n\n"
           "commands:\n"
           "  check-config --config FILE   load FILE and its plugins as sluiced would; print the pipeline or the error\n"
           "  health [--url URL]           show a running gateway's /v1/health (default http://127.0.0.1:8080)\n"
           "  version                      print the version and the plugin ABI\n"
           "  help                         this text\n";
}

std::string option(const std::vector<std::string>& args, const std::string& name, const std::string& fallback = {}) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i)
        if (args[i] == name) return args[i + 1];
    for (const auto& arg : args)
        if (arg.starts_with(name + "=")) return arg.substr(name.size() + 1);
    return fallback;
}

int checkConfig(const std::vector<std::string>& args) {
    const auto path = option(args, "--config");
    if (path.empty()) {
        std::cerr << "sluicectl: check-config needs --config FILE\n";
        return kExitUsage;
    }
    try {
        auto config = sluice::kernel::loadConfig(path);
        sluice::kernel::readServerSettings(*config);
        sluice::MetricsRegistry metrics;
        const auto binaryDirectory = std::filesystem::canonical("/proc/self/exe").parent_path().string();
        auto pipeline = sluice::kernel::Pipeline::build(config, sluice::kernel::pluginDirectory(*config, binaryDirectory), metrics);
        std::cout << "configuration OK: " << pipeline->describe() << ", " << pipeline->backends().size() << " backend(s)\n";
        return 0;
    } catch (const sluice::ConfigError& error) {
        std::cerr << "sluicectl: configuration error: " << error.what() << "\n";
        return kExitConfig;
    }
}

int health(const std::vector<std::string>& args) {
    try {
        Poco::URI uri(option(args, "--url", "http://127.0.0.1:8080"));
        Poco::Net::HTTPClientSession session(uri.getHost(), uri.getPort());
        session.setTimeout(Poco::Timespan(5, 0));
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/v1/health", Poco::Net::HTTPMessage::HTTP_1_1);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::string body;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
        const auto json = nlohmann::json::parse(body, nullptr, false);
        std::cout << (json.is_discarded() ? body : json.dump(2)) << "\n";
        return response.getStatus() == Poco::Net::HTTPResponse::HTTP_OK ? 0 : kExitUnavailable;
    } catch (const Poco::Exception& e) {
        std::cerr << "sluicectl: cannot reach the gateway: " << e.displayText() << "\n";
        return kExitUnavailable;
    }
}

} // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        usage(std::cout);
        return args.empty() ? kExitUsage : 0;
    }
    const auto& command = args[0];
    if (command == "check-config") return checkConfig(args);
    if (command == "health") return health(args);
    if (command == "version") {
        std::cout << "sluicectl 0.1.0 (plugin ABI " << SLUICE_ABI_MAJOR << "." << SLUICE_ABI_MINOR << ", "
                  << SLUICE_BUILD_SIGNATURE << ")\n";
        return 0;
    }
    std::cerr << "sluicectl: unknown command '" << command << "'\n";
    usage(std::cerr);
    return kExitUsage;
}
