// W3C trace context: which traceparent and tracestate values are passed on.
#include <cppunit/extensions/HelperMacros.h>

#include "http/TraceContext.h"

namespace {

using sluice::kernel::traceHeaders;
using Headers = std::vector<std::pair<std::string, std::string>>;

const std::string kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

class TraceContextTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(TraceContextTest);
    CPPUNIT_TEST(aValidTraceGoesOnWithItsState);
    CPPUNIT_TEST(malformedParentsAreDropped);
    CPPUNIT_TEST(stateGoesOnlyBesideAValidParent);
    CPPUNIT_TEST_SUITE_END();

public:
    void aValidTraceGoesOnWithItsState() {
        const Headers in{{"accept", "*/*"}, {"tracestate", "congo=t61rcWkgMzE"}, {"traceparent", kValid}};
        CPPUNIT_ASSERT(traceHeaders(in) == (Headers{{"traceparent", kValid}, {"tracestate", "congo=t61rcWkgMzE"}}));
        // A later version may append fields.
        const auto future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-next";
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, traceHeaders({{"traceparent", future}}).size());
    }

    void malformedParentsAreDropped() {
        for (const std::string bad : {
                 "",
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",               // no flags
                 "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",           // upper case
                 "00-00000000000000000000000000000000-00f067aa0ba902b7-01",           // zero trace id
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",           // zero parent id
                 "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",           // forbidden version
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",     // version 00 has no more
                 "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nX: y",  // a header line of its own
                 "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-\x01\x7f",   // a later version's tail, not printable
                 "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",           // nor dash-separated
             })
            CPPUNIT_ASSERT_MESSAGE(bad, traceHeaders({{"traceparent", bad}}).empty());
    }

    void stateGoesOnlyBesideAValidParent() {
        CPPUNIT_ASSERT(traceHeaders({{"tracestate", "a=b"}}).empty());
        CPPUNIT_ASSERT(traceHeaders({{"traceparent", kValid}, {"tracestate", "a=b\nc"}}) == (Headers{{"traceparent", kValid}}));
        CPPUNIT_ASSERT(traceHeaders({{"traceparent", kValid}, {"tracestate", std::string(513, 'a')}}) == (Headers{{"traceparent", kValid}}));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(TraceContextTest);

} // namespace
