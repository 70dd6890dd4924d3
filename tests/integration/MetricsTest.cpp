// /metrics speaks the Prometheus text format (checked by promtool) and counts
// what happened: requests by route and status, upstream latency and time to
// first byte, in-flight gauges, failovers.

#include <cstdio>
#include <fstream>

#include <cppunit/extensions/HelperMacros.h>

#include <Poco/TemporaryFile.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

class MetricsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MetricsTest);
    CPPUNIT_TEST(metricsPassPromtoolAndCountTraffic);
    CPPUNIT_TEST(healthAndReadiness);
    CPPUNIT_TEST_SUITE_END();

public:
    void metricsPassPromtoolAndCountTraffic() {
        FakeBackend dead("ollama", "dead");
        FakeBackend live("ollama", "live");
        TestGateway gateway(baseConfig() + "backends = a, b\n" + backendConfig("a", dead.url()) + backendConfig("b", live.url()));
        dead.kill();
        for (int i = 0; i < 3; ++i) httpPost(gateway.port(), "/api/chat", ollamaChat("llama3.2", i % 2 == 0));
        httpGet(gateway.port(), "/api/nothing");

        const std::vector<std::string> expectedSeries = {"sluice_requests_total{route=\"/api/chat\",status=\"200\"} 3", "sluice_requests_total{route=\"unknown\",status=\"404\"} 1",
              "sluice_upstream_ttfb_seconds_bucket{backend=\"b\",le=\"+Inf\"}", "sluice_upstream_latency_seconds_count{backend=\"b\"} 3", "sluice_request_duration_seconds_count{route=\"/api/chat\"} 3",
              "sluice_upstream_in_flight{backend=\"b\"} 0", "sluice_requests_in_flight", "sluice_failover_total{from=\"a\",to=\"b\",reason=\"connect_error\"} 3",
              "sluice_backend_healthy{backend=\"a\"} 0", "sluice_backend_healthy{backend=\"b\"} 1",
              "sluice_model_requests_total{backend=\"b\",model=\"llama3.2:latest\"} 3",
              // Tokens by backend, model and tenant (the fake: 5 prompt words and 5 chunks an answer).
              "sluice_prompt_tokens_total{backend=\"b\",model=\"llama3.2:latest\",tenant=\"anonymous\"} 15\n",
              "sluice_completion_tokens_total{backend=\"b\",model=\"llama3.2:latest\",tenant=\"anonymous\"} 15\n",
              "sluice_build_info{version=\"", "process_cpu_seconds_total ", "process_resident_memory_bytes ",
              "process_open_fds ", "process_max_fds ", "process_start_time_seconds ", "process_virtual_memory_bytes "};
        // A request is counted once its answer is out, so the last one may
        // be counted just after the client read it: wait for it, boundedly.
        HttpResult metrics;
        auto allThere = [&] {
            metrics = httpGet(gateway.port(), "/metrics");
            for (const auto& expected : expectedSeries)
                if (metrics.body.find(expected) == std::string::npos) return false;
            return true;
        };
        eventually(allThere);
        CPPUNIT_ASSERT_EQUAL(200, metrics.status);
        CPPUNIT_ASSERT(metrics.header("content-type").starts_with("text/plain; version=0.0.4"));
        for (const auto& expected : expectedSeries)
            CPPUNIT_ASSERT_MESSAGE(expected, metrics.body.find(expected) != std::string::npos);

        Poco::TemporaryFile file;
        std::ofstream(file.path()) << metrics.body;
        const auto command = "promtool check metrics < " + file.path() + " 2>&1";
        FILE* promtool = ::popen(command.c_str(), "r");
        CPPUNIT_ASSERT(promtool != nullptr);
        std::string report;
        char buffer[512];
        while (std::fgets(buffer, sizeof buffer, promtool)) report += buffer;
        const int status = ::pclose(promtool);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(report, 0, status);
    }

    void healthAndReadiness() {
        FakeBackend live("ollama", "live");
        TestGateway gateway(baseConfig() + "backends = a\n" + backendConfig("a", live.url()));
        CPPUNIT_ASSERT_EQUAL(200, httpGet(gateway.port(), "/healthz").status);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(gateway.port(), "/readyz").status);
        const auto health = httpGet(gateway.port(), "/v1/health").json();
        CPPUNIT_ASSERT_EQUAL(1, health["config_generation"].get<int>());
        CPPUNIT_ASSERT_EQUAL(std::string("a"), health["backends"][0]["name"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(3, health["backends"][0]["models"].get<int>());

        FakeBackend gone("ollama", "gone");
        TestGateway lonely(baseConfig() + "backends = a\n" + backendConfig("a", gone.url()) + "discovery.interval_s = 1\n");
        gone.kill();
        // With discovery.ttl_s the last list is kept; readiness follows the circuit once requests fail.
        for (int i = 0; i < 3; ++i) httpPost(lonely.port(), "/api/chat", ollamaChat("llama3.2", false));
        CPPUNIT_ASSERT_EQUAL(503, httpGet(lonely.port(), "/readyz").status);
        CPPUNIT_ASSERT_EQUAL(200, httpGet(lonely.port(), "/healthz").status);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MetricsTest);

} // namespace sluice::test
