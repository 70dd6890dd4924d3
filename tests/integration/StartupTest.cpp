// A bad configuration stops start-up with one clear line naming the key and
// the problem (exit 78, EX_CONFIG), before anything listens.

#include <csignal>
#include <fstream>

#include <cppunit/extensions/HelperMacros.h>

#include <Poco/TemporaryFile.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"
#include "sluice/Abi.h"

namespace sluice::test {

class StartupTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(StartupTest);
    CPPUNIT_TEST(unknownStageNamesTheKey);
    CPPUNIT_TEST(missingLibraryNamesTheFile);
    CPPUNIT_TEST(wrongAbiPluginIsRefusedWithBothVersions);
    CPPUNIT_TEST(libraryWithoutEntryIsRefused);
    CPPUNIT_TEST(badValuesNameTheirKeys);
    CPPUNIT_TEST(pluginConfigErrorNamesItsKey);
    CPPUNIT_TEST(environmentReferencesAreExpanded);
    CPPUNIT_TEST(helpAndCheck);
    CPPUNIT_TEST(sluicectlChecksLikeSluiced);
    CPPUNIT_TEST(hangupDoesNotStopTheGateway);
    CPPUNIT_TEST_SUITE_END();

public:
    static std::string withBackend(const std::string& extra) {
        return baseConfig() + "backends = local\nbackends.local.url = http://127.0.0.1:9\n" + extra;
    }

    static void assertRefused(const std::string& config, const std::string& expected) {
        const auto failure = startExpectingFailure(config);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(failure.output, 78, failure.exitCode);
        CPPUNIT_ASSERT_MESSAGE(failure.output, failure.output.find("configuration error: " + expected) != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(failure.output, failure.output.find("listening") == std::string::npos);
    }

    void unknownStageNamesTheKey() {
        assertRefused(withBackend("pipeline.router = fastest-ever\n"), "pipeline.router: unknown stage 'fastest-ever' (available: affinity, latency, least-busy, priority, "
                                                              "resident, round-robin, weighted)");
        assertRefused(withBackend("pipeline.auth =\n"), "pipeline.auth: is required");
    }

    void missingLibraryNamesTheFile() {
        assertRefused(withBackend("plugins.load = router, nosuch\n"), "plugins.load: plugin library not found: " SLUICE_PLUGIN_DIR "/nosuch.so");
    }

    void wrongAbiPluginIsRefusedWithBothVersions() {
        const auto failure = startExpectingFailure(withBackend("plugins.load = " SLUICE_TEST_PLUGIN_DIR "/wrong-abi.so\n"));
        CPPUNIT_ASSERT_EQUAL(78, failure.exitCode);
        // wrong-abi.so claims the next major.
        const auto expected = "plugin ABI " + std::to_string(SLUICE_ABI_MAJOR + 1) + ".0 does not match kernel ABI " +
                              std::to_string(SLUICE_ABI_MAJOR) + "." + std::to_string(SLUICE_ABI_MINOR);
        CPPUNIT_ASSERT_MESSAGE(failure.output, failure.output.find(expected) != std::string::npos);
        CPPUNIT_ASSERT(failure.output.find("wrong-abi.so") != std::string::npos);
    }

    void libraryWithoutEntryIsRefused() {
        assertRefused(withBackend("plugins.load = " SLUICE_TEST_PLUGIN_DIR "/no-entry.so\n"),
                      "plugins.load: " SLUICE_TEST_PLUGIN_DIR "/no-entry.so is not a Sluice plugin");
    }

    void badValuesNameTheirKeys() {
        assertRefused(baseConfig() + "backends = local\nbackends.local.url = not a url\n", "backends.local.url");
        assertRefused(baseConfig() + "backends = local\nbackends.local.url = ftp://host/\n", "backends.local.url: must start with http:// or https://");
        assertRefused(withBackend("backends.local.kind = vllm\n"), "backends.local.kind: 'vllm' is not a backend kind");
        assertRefused(withBackend("backends.local.timeout.idle_ms = soon\n"), "backends.local.timeout.idle_ms: 'soon' is not a whole number");
        assertRefused(withBackend("limits.max_body_bytes = -5\n"), "limits.max_body_bytes: -5 is out of range");
        assertRefused(withBackend("server.port = 70000\n"), "server.port: 70000 is out of range");
        assertRefused(baseConfig(), "backends: is required");
        assertRefused(withBackend("backends.local.tls.ca_file = /nonexistent/ca.pem\n"),
                      "backends.local.tls.ca_file: file not found: /nonexistent/ca.pem");
        assertRefused(withBackend("backends.local.tls.verify = maybe\n"), "backends.local.tls.verify: 'maybe' is not a boolean");
        assertRefused(withBackend("backends.local.auth.token = ${env.SLUICE_TEST_UNSET_VARIABLE}\n"),
                      "backends.local.auth.token: environment variable 'SLUICE_TEST_UNSET_VARIABLE' is not set");
        // Capacity (docs/capacity.md): refused before anything listens.
        assertRefused(withBackend("slots.lease_ttl_ms = 5\n"), "slots.lease_ttl_ms: 5 is out of range");
        assertRefused(withBackend("backends.local.model_slots = llama3.2\n"),
                      "backends.local.model_slots: 'llama3.2' is not MODEL=SLOTS");
        assertRefused(withBackend("queue.max_depth = -1\n"), "queue.max_depth: -1 is out of range");
    }

    void pluginConfigErrorNamesItsKey() {
        assertRefused(withBackend("plugins.path = " SLUICE_TEST_PLUGIN_DIR "\nplugins.load = throwing, " SLUICE_PLUGIN_DIR
                                  "/router.so, " SLUICE_PLUGIN_DIR "/discovery.so\npipeline.auth = bad-config\n"),
                      "auth.bad_config.level: is always wrong");
    }

    void environmentReferencesAreExpanded() {
        FakeBackend backend("ollama", "env-box", {"--token", "from-the-environment"});
        ::setenv("SLUICE_TEST_BACKEND_TOKEN", "from-the-environment", 1);
        TestGateway gateway(baseConfig() + "backends = local\n" + backendConfig("local", backend.url()) +
                            "backends.local.auth.token = ${env.SLUICE_TEST_BACKEND_TOKEN}\n");
        CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false)).status);
    }

    void helpAndCheck() {
        ChildProcess help(SLUICE_BIN_DIR "/sluiced", {"--help"});
        CPPUNIT_ASSERT_EQUAL(0, help.waitForExit(std::chrono::seconds(10)).value_or(-1));
        for (const auto* option : {"--config", "--check", "--daemon", "--pidfile"})
            CPPUNIT_ASSERT_MESSAGE(option, help.output().find(option) != std::string::npos);

        const auto check = startExpectingFailure(withBackend(""), {"--check"});
        CPPUNIT_ASSERT_EQUAL(0, check.exitCode);
        CPPUNIT_ASSERT(check.output.find("configuration OK") != std::string::npos);

        // A check never writes into the log file a running daemon writes to.
        Poco::TemporaryFile log;
        std::ofstream(log.path()) << "a daemon's line\n";
        const auto quiet = startExpectingFailure(withBackend("log.path = " + log.path() + "\nlog.level = debug\n"), {"--check"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(quiet.output, 0, quiet.exitCode);
        std::ifstream written(log.path());
        const std::string text((std::istreambuf_iterator<char>(written)), std::istreambuf_iterator<char>());
        CPPUNIT_ASSERT_EQUAL(std::string("a daemon's line\n"), text);
        // An unwritable log.path still fails the check, naming the key.
        const auto unwritable = startExpectingFailure(withBackend("log.path = /nonexistent-dir/sluice.log\n"), {"--check"});
        CPPUNIT_ASSERT_EQUAL(78, unwritable.exitCode);
        CPPUNIT_ASSERT(unwritable.output.find("log.path") != std::string::npos);
    }

    void hangupDoesNotStopTheGateway() {
        FakeBackend backend("ollama", "box");
        TestGateway gateway(baseConfig() + "backends = local\n" + backendConfig("local", backend.url()));
        gateway.process().terminate(SIGHUP);
        CPPUNIT_ASSERT(!gateway.process().waitForExit(std::chrono::milliseconds(300)));
        CPPUNIT_ASSERT_EQUAL(200, httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", false)).status);
    }

    void sluicectlChecksLikeSluiced() {
        auto run = [](const std::string& config) {
            Poco::TemporaryFile file;
            std::ofstream(file.path()) << config;
            ChildProcess ctl(SLUICE_BIN_DIR "/sluicectl", {"check-config", "--config", file.path()});
            const auto code = ctl.waitForExit(std::chrono::seconds(15)).value_or(-1);
            return std::pair{code, ctl.output()};
        };
        const auto [okCode, okOutput] = run(withBackend(""));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(okOutput, 0, okCode);
        CPPUNIT_ASSERT(okOutput.find("configuration OK: auth=allow-all router=priority") != std::string::npos);
        const auto [badCode, badOutput] = run(withBackend("server.port = 70000\n"));
        CPPUNIT_ASSERT_EQUAL(1, badCode);
        CPPUNIT_ASSERT(badOutput.find("server.port: 70000 is out of range") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(StartupTest);

} // namespace sluice::test
