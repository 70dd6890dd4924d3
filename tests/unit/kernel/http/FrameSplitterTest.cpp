// FrameSplitter: complete NDJSON lines and SSE events out of arbitrary reads.
#include <cppunit/extensions/HelperMacros.h>

#include <vector>

#include "http/FrameSplitter.h"

namespace {

using sluice::kernel::Framing;
using sluice::kernel::FrameSplitter;

std::vector<std::string> framesOf(Framing framing, std::string_view frames) {
    std::vector<std::string> out;
    FrameSplitter::forEachFrame(framing, frames, [&out](std::string_view frame) { out.emplace_back(frame); });
    return out;
}

class FrameSplitterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FrameSplitterTest);
    CPPUNIT_TEST(ndjsonLineSplitAcrossAppends);
    CPPUNIT_TEST(sseEventsWithLfLf);
    CPPUNIT_TEST(sseEventsWithCrlfCrlf);
    CPPUNIT_TEST(sseDelimiterStraddlesAppends);
    CPPUNIT_TEST(byteByByteFindsEveryFrame);
    CPPUNIT_TEST(takeCompleteKeepsPartial);
    CPPUNIT_TEST(oversizedUnfinishedFrame);
    CPPUNIT_TEST(forEachFrameVisitsEachFrame);
    CPPUNIT_TEST_SUITE_END();

public:
    void ndjsonLineSplitAcrossAppends() {
        FrameSplitter splitter(Framing::Ndjson, 1024);
        splitter.append("{\"a\":1}\n{\"b\"");
        CPPUNIT_ASSERT_EQUAL(std::string("{\"a\":1}\n"), std::string(splitter.complete()));
        CPPUNIT_ASSERT_EQUAL(std::string("{\"b\""), std::string(splitter.partial()));
        splitter.append(":2}");
        CPPUNIT_ASSERT_EQUAL(std::string("{\"a\":1}\n"), std::string(splitter.complete()));
        splitter.append("\n{\"c\"");
        CPPUNIT_ASSERT_EQUAL(std::string("{\"a\":1}\n{\"b\":2}\n"), std::string(splitter.complete()));
        CPPUNIT_ASSERT_EQUAL(std::string("{\"c\""), std::string(splitter.partial()));
    }

    void sseEventsWithLfLf() {
        FrameSplitter splitter(Framing::Sse, 1024);
        splitter.append("data: {\"x\":1}\n\ndata: {\"x\":2}\n");
        CPPUNIT_ASSERT_EQUAL(std::string("data: {\"x\":1}\n\n"), std::string(splitter.complete()));
        CPPUNIT_ASSERT_EQUAL(std::string("data: {\"x\":2}\n"), std::string(splitter.partial()));
        splitter.append("\ndata: [DONE]\n\n");
        CPPUNIT_ASSERT_EQUAL(std::string("data: {\"x\":1}\n\ndata: {\"x\":2}\n\ndata: [DONE]\n\n"),
                             std::string(splitter.complete()));
        CPPUNIT_ASSERT(splitter.partial().empty());
    }

    void sseEventsWithCrlfCrlf() {
        FrameSplitter splitter(Framing::Sse, 1024);
        splitter.append("event: a\r\ndata: 1\r\n\r\ndata: 2\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("event: a\r\ndata: 1\r\n\r\n"), std::string(splitter.complete()));
        CPPUNIT_ASSERT_EQUAL(std::string("data: 2\r\n"), std::string(splitter.partial()));
    }

    void sseDelimiterStraddlesAppends() {
        for (const std::string delimiter : {"\n\n", "\r\n\r\n"}) {
            const std::string event = "data: {\"x\":1}" + delimiter;
            // Cut inside the delimiter at each position.
            for (std::size_t cut = event.size() - delimiter.size(); cut < event.size(); ++cut) {
                FrameSplitter splitter(Framing::Sse, 1024);
                splitter.append(std::string_view(event).substr(0, cut));
                CPPUNIT_ASSERT(splitter.complete().empty());
                splitter.append(std::string_view(event).substr(cut));
                CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(cut), event, std::string(splitter.complete()));
            }
        }
    }

    void byteByByteFindsEveryFrame() {
        const std::string stream = "data: 1\n\ndata: 2\r\n\r\ndata: 3\n\n";
        FrameSplitter splitter(Framing::Sse, 1024);
        for (char c : stream) splitter.append(std::string_view(&c, 1));
        CPPUNIT_ASSERT_EQUAL(stream, std::string(splitter.complete()));
        CPPUNIT_ASSERT(splitter.partial().empty());
    }

    void takeCompleteKeepsPartial() {
        FrameSplitter splitter(Framing::Ndjson, 1024);
        splitter.append("one\ntwo\nthr");
        splitter.takeComplete();
        CPPUNIT_ASSERT(splitter.complete().empty());
        CPPUNIT_ASSERT_EQUAL(std::string("thr"), std::string(splitter.partial()));
        splitter.append("ee\nfo");
        CPPUNIT_ASSERT_EQUAL(std::string("three\n"), std::string(splitter.complete()));
        CPPUNIT_ASSERT_EQUAL(std::string("fo"), std::string(splitter.partial()));
        splitter.takeComplete();
        splitter.append("ur\n");
        CPPUNIT_ASSERT_EQUAL(std::string("four\n"), std::string(splitter.complete()));

        // The same after takeComplete with an SSE delimiter split over two appends.
        FrameSplitter sse(Framing::Sse, 1024);
        sse.append("data: 1\n\ndata: 2\r\n");
        sse.takeComplete();
        sse.append("\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("data: 2\r\n\r\n"), std::string(sse.complete()));
    }

    void oversizedUnfinishedFrame() {
        FrameSplitter splitter(Framing::Ndjson, 8);
        splitter.append("12345678");
        CPPUNIT_ASSERT(!splitter.oversized());
        splitter.append("9");
        CPPUNIT_ASSERT(splitter.oversized());
        splitter.append("\n");
        CPPUNIT_ASSERT(!splitter.oversized());  // complete frames do not count
        CPPUNIT_ASSERT_EQUAL(std::string("123456789\n"), std::string(splitter.complete()));
    }

    void forEachFrameVisitsEachFrame() {
        CPPUNIT_ASSERT(std::vector<std::string>({"a\n", "b\n", "c\n"}) == framesOf(Framing::Ndjson, "a\nb\nc\n"));
        CPPUNIT_ASSERT(std::vector<std::string>({"data: 1\n\n", "data: 2\r\n\r\n"}) ==
                       framesOf(Framing::Sse, "data: 1\n\ndata: 2\r\n\r\n"));
        // A trailing unfinished frame is visited last, as it is.
        CPPUNIT_ASSERT(std::vector<std::string>({"a\n", "rest"}) == framesOf(Framing::Ndjson, "a\nrest"));
        CPPUNIT_ASSERT(framesOf(Framing::Sse, "").empty());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FrameSplitterTest);

} // namespace
