// `sluicectl backends probe` and `sluicectl models` against real fake
// backends: an Ollama that needs a token, an OpenAI-compatible one, and a
// loopback port nothing listens on. What each command says about each
// backend, its exit status, its JSON, and that no token ever shows.

#include <cstdlib>
#include <fstream>

#include <cppunit/TestFixture.h>
#include <cppunit/extensions/HelperMacros.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/TemporaryFile.h>

#include "ChildProcess.h"
#include "FakeBackend.h"
#include "Gateway.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {
const std::string kToken = "secret-token-123";
const std::string kWrongToken = "wrong-token-456";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct CtlRun {
    int code = -1;
    std::string output;  // stdout and stderr, in order
};

// The one JSON line of a --json run (stderr may add a `sluicectl: …` line).
nlohmann::json jsonOf(const CtlRun& run) {
    std::size_t start = 0;
    while (start < run.output.size()) {
        auto end = run.output.find('\n', start);
        if (end == std::string::npos) end = run.output.size();
        if (run.output[start] == '{') return nlohmann::json::parse(run.output.substr(start, end - start), nullptr, false);
        start = end + 1;
    }
    return nlohmann::json::value_t::discarded;
}

// A loopback port that refuses connections: bound by the OS, then closed.
int closedPort() {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    return socket.address().port();
}
} // namespace

class SluicectlBackendsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SluicectlBackendsTest);
    CPPUNIT_TEST(probeReportsEachBackend);
    CPPUNIT_TEST(probeSucceedsWhenAllAreReachable);
    CPPUNIT_TEST(probeNamesAWrongTokenWithoutShowingIt);
    CPPUNIT_TEST(probeJsonHasTheFields);
    CPPUNIT_TEST(probeSaysWhenABackendTimesOut);
    CPPUNIT_TEST(modelsGroupsByBackendAndMarksLoaded);
    CPPUNIT_TEST(modelsSucceedsWhenAllAnswer);
    CPPUNIT_TEST(modelsJsonHasTheFields);
    CPPUNIT_TEST(badArgumentsExitTwo);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        // Ollama: three models listed (two chat, one embedding), one loaded; it needs the token.
        _ollama = std::make_unique<FakeBackend>(
            "ollama", "gpu-box",
            std::vector<std::string>{"--token", kToken, "--models", "llama3.2:latest,qwen2.5:0.5b", "--loaded",
                                     "qwen2.5:0.5b", "--embed-models", "nomic-embed-text:latest"});
        // OpenAI kind: "llama3.2" is the same model as the Ollama's llama3.2:latest.
        _openai = std::make_unique<FakeBackend>(
            "openai", "cloud",
            std::vector<std::string>{"--models", "llama3.2,gpt-4o", "--embed-models", "text-embedding-3-small"});
        _deadUrl = "http://127.0.0.1:" + std::to_string(closedPort());
    }

    void tearDown() override {
        _ollama.reset();
        _openai.reset();
    }

    // The properties for the named backends: gpu (the Ollama, right token),
    // cloud (the OpenAI kind), dead (the closed port), locked (the Ollama, wrong token).
    std::string config(const std::vector<std::string>& names) const {
        std::string list;
        std::string lines;
        for (const auto& name : names) {
            list += (list.empty() ? "" : ", ") + name;
            if (name == "gpu") lines += backendConfig("gpu", _ollama->url()) + "backends.gpu.auth.token = " + kToken + "\n";
            if (name == "cloud") lines += backendConfig("cloud", _openai->url(), "openai");
            if (name == "dead") lines += backendConfig("dead", _deadUrl);
            if (name == "locked")
                lines += backendConfig("locked", _ollama->url()) + "backends.locked.auth.token = " + kWrongToken + "\n";
        }
        return baseConfig() + "backends = " + list + "\n" + lines;
    }

    static CtlRun ctl(const std::string& config, const std::vector<std::string>& args) {
        Poco::TemporaryFile file;
        {
            std::ofstream out(file.path());
            out << config;
        }
        std::vector<std::string> all{"--config", file.path()};
        all.insert(all.end(), args.begin(), args.end());
        ChildProcess process(SLUICE_BIN_DIR "/sluicectl", all);
        CtlRun run;
        run.code = process.waitForExit(std::chrono::seconds(30)).value_or(-1);
        run.output = process.output();
        return run;
    }

    static void assertNoToken(const CtlRun& run) {
        CPPUNIT_ASSERT_MESSAGE(run.output, !contains(run.output, kToken));
        CPPUNIT_ASSERT_MESSAGE(run.output, !contains(run.output, kWrongToken));
    }

    void probeReportsEachBackend() {
        const auto run = ctl(config({"gpu", "cloud", "dead"}), {"backends", "probe"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.output, 1, run.code);
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, "backend gpu: reachable, ollama, version 0.6.5, 3 models, "));
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, " ms, auth: attached\n"));
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, "backend cloud: reachable, openai, version -, 3 models, "));
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, " ms, auth: none\n"));
        CPPUNIT_ASSERT_MESSAGE(
            run.output,
            contains(run.output, "backend dead: unreachable, ollama, auth: none, reason: /api/version: connection refused\n"));
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, "2 of 3 backends reachable\n"));
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, "sluicectl: probe failed: dead\n"));
        // In config order.
        CPPUNIT_ASSERT(run.output.find("backend gpu:") < run.output.find("backend cloud:"));
        CPPUNIT_ASSERT(run.output.find("backend cloud:") < run.output.find("backend dead:"));
        assertNoToken(run);
    }

    void probeSucceedsWhenAllAreReachable() {
        const auto run = ctl(config({"gpu", "cloud"}), {"backends", "probe"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.output, 0, run.code);
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, "2 of 2 backends reachable\n"));
        CPPUNIT_ASSERT_MESSAGE(run.output, !contains(run.output, "sluicectl:"));

        // SLUICE_CONFIG instead of --config.
        Poco::TemporaryFile file;
        {
            std::ofstream out(file.path());
            out << config({"gpu"});
        }
        ::setenv("SLUICE_CONFIG", file.path().c_str(), 1);
        ChildProcess process(SLUICE_BIN_DIR "/sluicectl", {"backends", "probe"});
        const auto code = process.waitForExit(std::chrono::seconds(30)).value_or(-1);
        ::unsetenv("SLUICE_CONFIG");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(process.output(), 0, code);
        CPPUNIT_ASSERT_MESSAGE(process.output(), contains(process.output(), "1 of 1 backend reachable\n"));
    }

    void probeNamesAWrongTokenWithoutShowingIt() {
        const auto text = ctl(config({"gpu", "locked"}), {"backends", "probe"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(text.output, 1, text.code);
        CPPUNIT_ASSERT_MESSAGE(text.output, contains(text.output, "backend locked: failed, ollama, "));
        CPPUNIT_ASSERT_MESSAGE(text.output, contains(text.output, " ms, auth: attached, reason: /api/version answered 401\n"));
        CPPUNIT_ASSERT_MESSAGE(text.output, contains(text.output, "1 of 2 backends reachable\n"));
        assertNoToken(text);

        const auto json = ctl(config({"gpu", "locked"}), {"backends", "probe", "--json"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(json.output, 1, json.code);
        const auto locked = jsonOf(json)["backends"][1];
        CPPUNIT_ASSERT_EQUAL(std::string("failed"), locked["state"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(401, locked["status"].get<int>());
        CPPUNIT_ASSERT_EQUAL(std::string("attached"), locked["auth"].get<std::string>());
        assertNoToken(json);

        // The discovery stage says the same, and shows no token either.
        const auto models = ctl(config({"gpu", "locked"}), {"models"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(models.output, 1, models.code);
        CPPUNIT_ASSERT_MESSAGE(models.output, contains(models.output, "backend locked (ollama): failed: /api/tags answered 401\n"));
        assertNoToken(models);
    }

    void probeJsonHasTheFields() {
        const auto run = ctl(config({"gpu", "cloud", "dead"}), {"backends", "probe", "--json"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.output, 1, run.code);
        const auto answer = jsonOf(run);
        CPPUNIT_ASSERT_MESSAGE(run.output, answer.is_object());
        CPPUNIT_ASSERT_EQUAL(2, answer["reachable"].get<int>());
        CPPUNIT_ASSERT_EQUAL(3, answer["total"].get<int>());
        const auto& backends = answer["backends"];
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, backends.size());

        const auto& gpu = backends[0];
        CPPUNIT_ASSERT_EQUAL(std::string("gpu"), gpu["name"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("ollama"), gpu["kind"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("reachable"), gpu["state"].get<std::string>());
        CPPUNIT_ASSERT(gpu["ok"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(std::string("0.6.5"), gpu["version"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(3, gpu["models"].get<int>());
        CPPUNIT_ASSERT(gpu["round_trip_ms"].is_number_integer());
        CPPUNIT_ASSERT_EQUAL(std::string("attached"), gpu["auth"].get<std::string>());
        CPPUNIT_ASSERT(gpu["error"].is_null());

        const auto& cloud = backends[1];
        CPPUNIT_ASSERT_EQUAL(std::string("openai"), cloud["kind"].get<std::string>());
        CPPUNIT_ASSERT(cloud["ok"].get<bool>());
        CPPUNIT_ASSERT(cloud["version"].is_null());
        CPPUNIT_ASSERT_EQUAL(3, cloud["models"].get<int>());
        CPPUNIT_ASSERT_EQUAL(std::string("none"), cloud["auth"].get<std::string>());

        const auto& dead = backends[2];
        CPPUNIT_ASSERT_EQUAL(std::string("unreachable"), dead["state"].get<std::string>());
        CPPUNIT_ASSERT(!dead["ok"].get<bool>());
        CPPUNIT_ASSERT(dead["models"].is_null());
        CPPUNIT_ASSERT(dead["round_trip_ms"].is_null());
        CPPUNIT_ASSERT(dead["status"].is_null());
        CPPUNIT_ASSERT_EQUAL(std::string("/api/version: connection refused"), dead["error"].get<std::string>());
        assertNoToken(run);
    }

    void probeSaysWhenABackendTimesOut() {
        // The version answer would take far longer than the probe may wait.
        _ollama->setRules({{"path", "/api/version"}, {"delay_first_byte_ms", 20000}});
        const auto run = ctl(config({"gpu", "cloud"}), {"backends", "probe", "--timeout-ms", "500"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.output, 1, run.code);
        CPPUNIT_ASSERT_MESSAGE(
            run.output,
            contains(run.output, "backend gpu: unreachable, ollama, auth: attached, reason: /api/version: timed out (limit 500 ms)\n"));
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, "backend cloud: reachable, openai, "));
        assertNoToken(run);
    }

    void modelsGroupsByBackendAndMarksLoaded() {
        const auto run = ctl(config({"gpu", "cloud", "dead"}), {"models"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.output, 1, run.code);
        const std::string gpu =
            "backend gpu (ollama): 3 models, 1 loaded\n"
            "  llama3.2:latest\n"
            "  qwen2.5:0.5b  (loaded)\n"
            "  nomic-embed-text:latest\n";
        const std::string cloud =
            "backend cloud (openai): 3 models\n"
            "  llama3.2\n"
            "  gpt-4o\n"
            "  text-embedding-3-small\n";
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, gpu + cloud));
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, "backend dead (ollama): failed: /api/tags: connection refused\n"));
        // llama3.2 and llama3.2:latest are one model: 6 names, 5 models.
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, "5 distinct models on 2 of 3 backends\n"));
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, "sluicectl: model poll failed: dead\n"));
        CPPUNIT_ASSERT(run.output.find("backend cloud") < run.output.find("backend dead"));
        assertNoToken(run);
    }

    void modelsSucceedsWhenAllAnswer() {
        const auto run = ctl(config({"cloud", "gpu"}), {"models"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.output, 0, run.code);
        CPPUNIT_ASSERT(run.output.find("backend cloud") < run.output.find("backend gpu"));  // config order
        CPPUNIT_ASSERT_MESSAGE(run.output, contains(run.output, "5 distinct models on 2 of 2 backends\n"));
        CPPUNIT_ASSERT_MESSAGE(run.output, !contains(run.output, "sluicectl:"));
    }

    void modelsJsonHasTheFields() {
        const auto run = ctl(config({"gpu", "cloud", "dead"}), {"models", "--json"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.output, 1, run.code);
        const auto answer = jsonOf(run);
        CPPUNIT_ASSERT_MESSAGE(run.output, answer.is_object());
        const auto& backends = answer["backends"];
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, backends.size());

        const auto& gpu = backends[0];
        CPPUNIT_ASSERT_EQUAL(std::string("gpu"), gpu["name"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("ollama"), gpu["kind"].get<std::string>());
        CPPUNIT_ASSERT(gpu["ok"].get<bool>());
        CPPUNIT_ASSERT(gpu["error"].is_null());
        const auto expectedGpu = nlohmann::json::parse(R"([{"name":"llama3.2:latest","loaded":false},
            {"name":"qwen2.5:0.5b","loaded":true},{"name":"nomic-embed-text:latest","loaded":false}])");
        CPPUNIT_ASSERT_EQUAL(expectedGpu.dump(), gpu["models"].dump());

        const auto& cloud = backends[1];
        CPPUNIT_ASSERT_EQUAL(std::string("openai"), cloud["kind"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, cloud["models"].size());
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2"), cloud["models"][0]["name"].get<std::string>());

        const auto& dead = backends[2];
        CPPUNIT_ASSERT(!dead["ok"].get<bool>());
        CPPUNIT_ASSERT_EQUAL(std::string("/api/tags: connection refused"), dead["error"].get<std::string>());
        CPPUNIT_ASSERT(dead["models"].empty());

        CPPUNIT_ASSERT_EQUAL(5, answer["union_count"].get<int>());
        const auto expectedUnion = nlohmann::json::parse(
            R"(["llama3.2:latest","qwen2.5:0.5b","nomic-embed-text:latest","gpt-4o","text-embedding-3-small"])");
        CPPUNIT_ASSERT_EQUAL(expectedUnion.dump(), answer["union"].dump());
        assertNoToken(run);
    }

    void badArgumentsExitTwo() {
        const auto configText = config({"gpu"});
        for (const auto& args : std::vector<std::vector<std::string>>{{"backends", "probe", "--timeout-ms", "0"},
                                                                      {"backends", "probe", "--timeout-ms", "soon"},
                                                                      {"backends", "frobnicate"},
                                                                      {"backends"},
                                                                      {"models", "--timeout-ms", "100"},
                                                                      {"models", "extra"}}) {
            const auto run = ctl(configText, args);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(run.output, 2, run.code);
            CPPUNIT_ASSERT_MESSAGE(run.output, run.output.starts_with("sluicectl: "));
        }
    }

private:
    std::unique_ptr<FakeBackend> _ollama;
    std::unique_ptr<FakeBackend> _openai;
    std::string _deadUrl;
};

CPPUNIT_TEST_SUITE_REGISTRATION(SluicectlBackendsTest);

} // namespace sluice::test
