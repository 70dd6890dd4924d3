// sluice-fake-backend: see README.md in this folder for the command line and
// the control API.
#include <sys/resource.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Net/SSLManager.h>

#include <Poco/Exception.h>

#include "FakeBackend.h"

namespace {

const char* const usage =
    "usage: sluice-fake-backend --kind ollama|openai|anthropic [--host 127.0.0.1] [--port 0] [--name NAME]\n"
    "       [--models m1,m2] [--loaded m1] [--embed-models e1] [--token T] [--auth-header Authorization]\n"
    "       [--apis messages,responses] [--reject-prefill]\n"
    "       [--tls-cert CERT.pem --tls-key KEY.pem]\n";

std::vector<std::string> commaList(const std::string& text) {
    std::vector<std::string> items;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty()) items.push_back(item);
    return items;
}

[[noreturn]] void fail(const std::string& message) {
    std::cerr << "sluice-fake-backend: " << message << "\n" << usage;
    std::exit(2);
}

sluice::fake::FakeOptions parseOptions(int argc, char** argv) {
    sluice::fake::FakeOptions options;
    options.models.models = {"llama3.2:latest", "qwen2.5:0.5b"};
    options.models.embedModels = {"nomic-embed-text:latest"};
    bool kindGiven = false;
    bool loadedGiven = false;
    bool modelsGiven = false;
    bool embedModelsGiven = false;
    for (int i = 1; i < argc; ++i) {
        std::string flag = argv[i];
        std::string value;
        if (flag == "--help" || flag == "-h") {
            std::cout << usage;
            std::exit(0);
        }
        // The one flag without a value.
        if (flag == "--reject-prefill") {
            options.rejectPrefill = true;
            continue;
        }
        if (flag.starts_with("--reject-prefill=")) fail("--reject-prefill takes no value");
        if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
            value = flag.substr(eq + 1);
            flag.resize(eq);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fail("missing value for " + flag);
        }
        if (flag == "--kind") {
            if (value != "ollama" && value != "openai" && value != "anthropic")
                fail("--kind must be ollama, openai or anthropic");
            options.kind = value;
            kindGiven = true;
        } else if (flag == "--host") {
            options.host = value;
        } else if (flag == "--port") {
            char* end = nullptr;
            const long port = std::strtol(value.c_str(), &end, 10);
            if (value.empty() || *end != '\0' || port < 0 || port > 65535) fail("bad --port " + value);
            options.port = static_cast<std::uint16_t>(port);
        } else if (flag == "--name") {
            options.name = value;
        } else if (flag == "--models") {
            options.models.models = commaList(value);
            modelsGiven = true;
        } else if (flag == "--loaded") {
            options.models.loaded = commaList(value);
            loadedGiven = true;
        } else if (flag == "--embed-models") {
            options.models.embedModels = commaList(value);
            embedModelsGiven = true;
        } else if (flag == "--apis") {
            options.apis = commaList(value);
            for (const auto& api : *options.apis)
                if (api != "messages" && api != "responses") fail("--apis takes messages and/or responses, not " + api);
        } else if (flag == "--token") {
            options.token = value;
        } else if (flag == "--tls-cert") {
            options.tlsCertificate = value;
        } else if (flag == "--tls-key") {
            options.tlsKey = value;
        } else if (flag == "--auth-header") {
            if (value.empty()) fail("--auth-header must not be empty");
            options.authHeader = value;
        } else {
            fail("unknown option " + flag);
        }
    }
    if (!kindGiven) fail("--kind is required");
    if (options.kind == "anthropic") {
        if (!modelsGiven) options.models.models = {"claude-sonnet-4-5", "claude-haiku-4-5"};
        if (!embedModelsGiven) options.models.embedModels.clear();
    }
    if (!loadedGiven && !options.models.models.empty()) options.models.loaded = {options.models.models.front()};
    return options;
}

}  // namespace

int main(int argc, char** argv) {
    const auto options = parseOptions(argc, argv);
    if (!options.tlsCertificate.empty() && options.tlsKey.empty()) fail("--tls-cert needs --tls-key");
    Poco::Net::initializeSSL();

    // Every thread inherits this mask, so only sigwait below sees the signals.
    sigset_t stopSignals;
    sigemptyset(&stopSignals);
    sigaddset(&stopSignals, SIGTERM);
    sigaddset(&stopSignals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
    signal(SIGPIPE, SIG_IGN);
    // Tests hold a thousand streams open through it.
    if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }

    sluice::fake::FakeBackend backend(options);
    std::uint16_t port = 0;
    try {
        port = backend.start();
    } catch (const Poco::Exception& error) {
        std::cerr << "sluice-fake-backend: cannot listen on " << options.host << ":" << options.port << ": "
                  << error.displayText() << "\n";
        return 1;
    }
    const bool ipv6 = options.host.find(':') != std::string::npos;
    std::cout << "listening on " << (options.tlsCertificate.empty() ? "http" : "https") << "://" << (ipv6 ? "[" + options.host + "]" : options.host) << ":" << port
              << std::endl;

    int received = 0;
    sigwait(&stopSignals, &received);
    backend.stop();
    // Give running answers a moment to see the stop flag, then leave without
    // joining threads that idle keep-alive connections may still hold.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (backend.stats().toJson()["in_flight"].get<long long>() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::cout.flush();
    std::_Exit(0);
}
