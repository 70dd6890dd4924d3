// sluiced as a service: --daemon with --pidfile (the parent exits, the
// daemon serves and logs JSON lines to log.path), `sluicectl reload` on its
// pid file applying a good file and reporting a refused one, and SIGTERM
// ending it and removing the pid file.

#include <signal.h>

#include <filesystem>
#include <fstream>

#include <cppunit/extensions/HelperMacros.h>
#include <Poco/Net/ServerSocket.h>

#include "ChildProcess.h"
#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "ScratchDir.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {

using namespace std::chrono_literals;

int freePort() {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    return socket.address().port();
}

struct Run {
    int code = -1;
    std::string output;
};

Run sluicectl(const std::vector<std::string>& args) {
    ChildProcess process(SLUICE_BIN_DIR "/sluicectl", args);
    Run run;
    run.code = process.waitForExit(30s).value_or(-1);
    run.output = process.output();
    return run;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

} // namespace

class ServiceTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ServiceTest);
    CPPUNIT_TEST(aDaemonServesLogsAndReloadsBySluicectl);
    CPPUNIT_TEST(aBadFileFailsTheDaemonsLaunch);
    CPPUNIT_TEST(reloadWithoutARunningGatewaySaysSo);
    CPPUNIT_TEST_SUITE_END();

public:
    void aDaemonServesLogsAndReloadsBySluicectl() {
        ScratchDir scratch("sluice-service-it");
        FakeBackend backend("ollama", "gpu-box");
        const int port = freePort();
        const auto configFile = scratch.path / "sluiced.properties";
        const auto pidFile = scratch.path / "sluiced.pid";
        const auto logFile = scratch.path / "sluiced.log";
        const auto config = baseConfig() + "server.port = " + std::to_string(port) + "\nbackends = gpu\n" +
                            backendConfig("gpu", backend.url()) + "log.format = json\nlog.path = " + logFile.string() + "\n";
        std::ofstream(configFile) << config;

        ChildProcess launcher(SLUICE_BIN_DIR "/sluiced",
                              {"--config", configFile.string(), "--daemon", "--pidfile=" + pidFile.string()});
        // The launching process returns at once; the daemon goes on.
        CPPUNIT_ASSERT_EQUAL_MESSAGE(launcher.output(), 0, launcher.waitForExit(15s).value_or(-1));
        // The file may be there before its number is (created, then written).
        pid_t pid = 0;
        CPPUNIT_ASSERT(eventually([&] {
            pid = 0;
            std::ifstream(pidFile) >> pid;
            return pid > 1;
        }));
        CPPUNIT_ASSERT(alive(pid));
        struct Reaper {  // a failing assertion must not leave the daemon running
            pid_t pid;
            ~Reaper() {
                if (pid > 1) ::kill(pid, SIGKILL);
            }
        } reaper{pid};
        CPPUNIT_ASSERT(eventually([&] {
            try {
                return httpGet(port, "/healthz").status == 200;
            } catch (const std::exception&) {
                return false;
            }
        }));
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", false), {{"X-Request-ID", "daemon-1"}}).status);

        // Its log: JSON lines, the access line naming the request.
        CPPUNIT_ASSERT(eventually([&] {
            for (const auto& line : linesOf(logFile)) {
                const auto json = nlohmann::json::parse(line, nullptr, false);
                if (json.is_object() && json.value("logger", "") == "sluice.access" && json.value("request_id", "") == "daemon-1")
                    // The audit trail's names (sluice/AuditJson.h), never the prompt.
                    return json.value("status", 0) == 200 && json.value("served_backend", "") == "gpu" &&
                           json.value("client_address", "") == "127.0.0.1" && json.contains("first_byte_ms") &&
                           !json.contains("client") && !json.contains("ttfb_ms") && !json.contains("prompt");
            }
            return false;
        }));

        const auto url = "http://127.0.0.1:" + std::to_string(port);
        std::ofstream(configFile) << config << "pipeline.router = round-robin\n";
        auto reloaded = sluicectl({"reload", "--pidfile", pidFile.string(), "--url", url});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(reloaded.output, 0, reloaded.code);
        CPPUNIT_ASSERT_MESSAGE(reloaded.output, reloaded.output.find("generation 2") != std::string::npos);
        CPPUNIT_ASSERT(httpGet(port, "/v1/health").json().value("pipeline", "").find("router=round-robin") != std::string::npos);

        std::ofstream(configFile) << config << "pipeline.router = no-such-strategy\n";
        auto refused = sluicectl({"reload", "--pidfile", pidFile.string(), "--url", url, "--timeout-ms", "1500"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(refused.output, 1, refused.code);
        CPPUNIT_ASSERT_MESSAGE(refused.output, refused.output.find("still configuration generation 2") != std::string::npos);
        CPPUNIT_ASSERT(eventually([&] {
            for (const auto& line : linesOf(logFile))
                if (line.find("reload refused") != std::string::npos) return line.find("pipeline.router") != std::string::npos;
            return false;
        }));

        CPPUNIT_ASSERT_EQUAL(0, ::kill(pid, SIGTERM));
        CPPUNIT_ASSERT(eventually([&] { return !alive(pid); }, 20s));
        reaper.pid = 0;
        CPPUNIT_ASSERT(!std::filesystem::exists(pidFile));
    }

    void aBadFileFailsTheDaemonsLaunch() {
        ScratchDir scratch("sluice-service-it");
        const auto configFile = scratch.path / "sluiced.properties";
        const auto pidFile = scratch.path / "sluiced.pid";
        std::ofstream(configFile) << baseConfig() << "backends = gpu\n" << backendConfig("gpu", "http://127.0.0.1:9")
                                  << "pipeline.router = no-such-strategy\n";
        ChildProcess launcher(SLUICE_BIN_DIR "/sluiced",
                              {"--config", configFile.string(), "--daemon", "--pidfile=" + pidFile.string()});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(launcher.output(), 78, launcher.waitForExit(15s).value_or(-1));
        CPPUNIT_ASSERT_MESSAGE(launcher.output(), launcher.output().find("pipeline.router") != std::string::npos);
        CPPUNIT_ASSERT(!std::filesystem::exists(pidFile));
    }

    void reloadWithoutARunningGatewaySaysSo() {
        ScratchDir scratch("sluice-service-it");
        auto missing = sluicectl({"reload", "--pidfile", (scratch.path / "none.pid").string()});
        CPPUNIT_ASSERT_EQUAL(1, missing.code);
        CPPUNIT_ASSERT_MESSAGE(missing.output, missing.output.find("cannot read a process id") != std::string::npos);
        int gone = 0;  // a process that has ended and been reaped
        {
            ChildProcess ended("/bin/true", {});
            ended.waitForExit(10s);
            gone = ended.pid();
        }
        std::ofstream(scratch.path / "stale.pid") << gone << "\n";
        auto stale = sluicectl({"reload", "--pidfile", (scratch.path / "stale.pid").string()});
        CPPUNIT_ASSERT_EQUAL(1, stale.code);
        CPPUNIT_ASSERT_MESSAGE(stale.output, stale.output.find("is sluiced running?") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ServiceTest);

} // namespace sluice::test
