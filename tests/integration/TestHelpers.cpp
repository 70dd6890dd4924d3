#include "TestHelpers.h"

#include <fstream>

#include <sys/resource.h>
#include <thread>

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

namespace sluice::test {

OneBackendGateway::OneBackendGateway(const std::string& extraConfig)
    : backend("ollama", "gpu-box"),
      gateway(baseConfig() + "backends = gpu\n" + backendConfig("gpu", backend.url()) + extraConfig) {}

std::string ollamaChat(const std::string& model, bool stream) {
    return nlohmann::json{{"model", model}, {"messages", {{{"role", "user"}, {"content", "why is the sky blue"}}}}, {"stream", stream}}
        .dump();
}

std::string openAiChat(const std::string& model, bool stream) {
    return nlohmann::json{{"model", model},
                          {"messages", {{{"role", "user"}, {"content", "why is the sky blue"}}}},
                          {"stream", stream},
                          {"stream_options", {{"include_usage", true}}}}
        .dump();
}

SteadyLoadSettings chatLoad(int port, int clients, double rate, std::chrono::milliseconds duration, const std::string& prefix,
                            bool allStreamed) {
    SteadyLoadSettings settings;
    settings.port = port;
    settings.clients = clients;
    settings.ratePerSecond = rate;
    settings.duration = duration;
    settings.idPrefix = prefix;
    settings.request = [allStreamed](std::uint64_t n) {
        return std::pair<std::string, std::string>{"/api/chat", ollamaChat("llama3.2", allStreamed || n % 2 == 1)};
    };
    return settings;
}

std::string countingSinkConfig(const std::filesystem::path& dir) {
    return "plugins.load = allow-all, router, discovery, " SLUICE_TEST_PLUGIN_DIR "/counting-sink.so\n"
           "pipeline.audit = counting\n"
           "audit.counting.path = " + (dir / "ids").string() + "\n"
           "audit.spill_dir = " + (dir / "spill").string() + "\n";
}

std::vector<std::string> linesOf(const std::filesystem::path& file) {
    std::vector<std::string> lines;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    return lines;
}

std::string backendConfig(const std::string& name, const std::string& url, const std::string& kind) {
    return "backends." + name + ".url = " + url + "\nbackends." + name + ".kind = " + kind + "\n";
}

int requestsAt(const FakeBackend& backend, const std::string& path) {
    const auto byPath = backend.stats().at("by_path");
    return byPath.contains(path) ? byPath.at(path).get<int>() : 0;
}

int chatsAt(const FakeBackend& backend) { return requestsAt(backend, "/api/chat"); }

std::vector<nlohmann::json> ndjsonLines(const std::string& body) {
    std::vector<nlohmann::json> lines;
    std::size_t start = 0;
    while (start < body.size()) {
        auto end = body.find('\n', start);
        if (end == std::string::npos) end = body.size();
        if (end > start) lines.push_back(nlohmann::json::parse(body.substr(start, end - start), nullptr, false));
        start = end + 1;
    }
    return lines;
}

std::vector<std::string> sseData(const std::string& body) {
    std::vector<std::string> data;
    std::size_t pos = 0;
    while ((pos = body.find("data: ", pos)) != std::string::npos) {
        const auto end = body.find('\n', pos);
        data.push_back(body.substr(pos + 6, end - pos - 6));
        pos = end;
    }
    return data;
}

long long processStatus(int pid, const std::string& field) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.starts_with(field + ":")) return std::stoll(line.substr(field.size() + 1));
    return -1;
}

void raiseDescriptorLimit() {
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return condition();
}

std::string rawExchange(int port, const std::string& bytes, std::chrono::milliseconds limit) {
    Poco::Net::StreamSocket socket(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)));
    socket.setReceiveTimeout(Poco::Timespan(std::chrono::duration_cast<std::chrono::microseconds>(limit).count()));
    socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
    std::string answer;
    char buffer[8192];
    try {
        while (true) {
            const int n = socket.receiveBytes(buffer, sizeof buffer);
            if (n <= 0) break;
            answer.append(buffer, static_cast<std::size_t>(n));
        }
    } catch (const Poco::Exception&) {
        // Time-out or reset: return what arrived.
    }
    return answer;
}

nlohmann::json jsonLineWithId(const std::filesystem::path& file, const std::string& requestId) {
    nlohmann::json found;
    eventually([&] {
        for (const auto& line : linesOf(file)) {
            auto json = nlohmann::json::parse(line, nullptr, false);
            if (json.is_object() && json.value("request_id", "") == requestId) found = std::move(json);
        }
        return !found.is_null();
    });
    return found;
}

} // namespace sluice::test
