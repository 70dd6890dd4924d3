// MetricsRegistry: find-or-create by name and labels, Prometheus text output.
#include <cppunit/extensions/HelperMacros.h>

#include "sluice/Metrics.h"

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class MetricsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MetricsTest);
    CPPUNIT_TEST(sameNameAndLabelsIsSameObject);
    CPPUNIT_TEST(renderHasHelpTypeAndValues);
    CPPUNIT_TEST(renderEscapesLabelValues);
    CPPUNIT_TEST(histogramBucketsAreCumulative);
    CPPUNIT_TEST(typeClashThrows);
    CPPUNIT_TEST_SUITE_END();

public:
    void sameNameAndLabelsIsSameObject() {
        sluice::MetricsRegistry registry;
        auto& first = registry.counter("requests_total", "Requests.", {{"route", "/api/chat"}});
        auto& again = registry.counter("requests_total", "Requests.", {{"route", "/api/chat"}});
        auto& other = registry.counter("requests_total", "Requests.", {{"route", "/v1/models"}});
        CPPUNIT_ASSERT(&first == &again);
        CPPUNIT_ASSERT(&first != &other);
        first.inc();
        again.inc(2);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, first.value());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, other.value());
        CPPUNIT_ASSERT(&registry.gauge("in_flight", "x") == &registry.gauge("in_flight", "x"));
    }

    void renderHasHelpTypeAndValues() {
        sluice::MetricsRegistry registry;
        registry.counter("requests_total", "Requests served.", {{"route", "/api/chat"}, {"status", "200"}}).inc(3);
        registry.gauge("in_flight", "Requests in flight.").set(-2);
        const auto text = registry.render();
        CPPUNIT_ASSERT(contains(text, "# HELP requests_total Requests served.\n# TYPE requests_total counter\n"));
        CPPUNIT_ASSERT(contains(text, "requests_total{route=\"/api/chat\",status=\"200\"} 3\n"));
        CPPUNIT_ASSERT(contains(text, "# HELP in_flight Requests in flight.\n# TYPE in_flight gauge\n"));
        CPPUNIT_ASSERT(contains(text, "\nin_flight -2\n"));
    }

    void renderEscapesLabelValues() {
        sluice::MetricsRegistry registry;
        registry.counter("odd_total", "Odd labels.", {{"value", "a\"b\\c\nd"}}).inc();
        const auto text = registry.render();
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "odd_total{value=\"a\\\"b\\\\c\\nd\"} 1\n"));
    }

    void histogramBucketsAreCumulative() {
        sluice::MetricsRegistry registry;
        auto& histogram = registry.histogram("latency_seconds", "Latency.", {{"backend", "gpu"}}, {1.0, 0.1});
        histogram.observe(0.05);
        histogram.observe(0.1);  // on a bound: counts in that bucket (le is inclusive)
        histogram.observe(0.5);
        histogram.observe(5.0);
        const auto text = registry.render();
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "# TYPE latency_seconds histogram\n"));
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "latency_seconds_bucket{backend=\"gpu\",le=\"0.1\"} 2\n"));
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "latency_seconds_bucket{backend=\"gpu\",le=\"1\"} 3\n"));
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "latency_seconds_bucket{backend=\"gpu\",le=\"+Inf\"} 4\n"));
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "latency_seconds_sum{backend=\"gpu\"} 5.65\n"));
        CPPUNIT_ASSERT_MESSAGE(text, contains(text, "latency_seconds_count{backend=\"gpu\"} 4\n"));
        const std::vector<std::uint64_t> raw{2, 1, 1};
        CPPUNIT_ASSERT(raw == histogram.buckets());
    }

    void typeClashThrows() {
        sluice::MetricsRegistry registry;
        registry.counter("things", "Things.");
        CPPUNIT_ASSERT_THROW(registry.gauge("things", "Things."), std::logic_error);
        CPPUNIT_ASSERT_THROW(registry.histogram("things", "Things.", {{"other", "labels"}}), std::logic_error);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MetricsTest);

} // namespace
