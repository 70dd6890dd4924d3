// RequestScan: the I/O thread's look at a request arriving in pieces: where
// its head ends, how its body is framed, and when it must leave the
// question to the worker's parser.
#include <cppunit/extensions/HelperMacros.h>

#include "front/RequestScan.h"

namespace {

using namespace sluice::kernel;

const std::string kHead = "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n";

class RequestScanTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RequestScanTest);
    CPPUNIT_TEST(aHeadEndsAtItsFirstEmptyLine);
    CPPUNIT_TEST(aHeadInPiecesIsNotInUntilItsEnd);
    CPPUNIT_TEST(bareLineFeedsEndAHeadToo);
    CPPUNIT_TEST(leadingEmptyLinesAreSkippedUpToEight);
    CPPUNIT_TEST(anEndlessHeadIsHandedOverPastTheLimit);
    CPPUNIT_TEST(framingFromContentLength);
    CPPUNIT_TEST(framingChunked);
    CPPUNIT_TEST(noFramingMeansNoBody);
    CPPUNIT_TEST(doubtfulFramingIsLeftToTheParser);
    CPPUNIT_TEST(theTargetOfTheRequestLine);
    CPPUNIT_TEST(expectContinueIsNoted);
    CPPUNIT_TEST(aWholeRequestIsItsHeadAndAllOfItsBody);
    CPPUNIT_TEST(aResumedScanFindsAnEndAcrossPieces);
    CPPUNIT_TEST_SUITE_END();

public:
    void aHeadEndsAtItsFirstEmptyLine() {
        const auto scan = scanHead(kHead + "{\"model\":1}", 65536);
        CPPUNIT_ASSERT(scan.kind == HeadScan::Kind::Head);
        CPPUNIT_ASSERT_EQUAL(kHead.size(), scan.bytes);
    }

    void aHeadInPiecesIsNotInUntilItsEnd() {
        for (std::size_t cut = 0; cut < kHead.size(); ++cut)
            CPPUNIT_ASSERT_MESSAGE(std::to_string(cut), scanHead(kHead.substr(0, cut), 65536).kind == HeadScan::Kind::More);
    }

    void bareLineFeedsEndAHeadToo() {
        const std::string head = "GET /v1/models HTTP/1.1\nHost: x\n\n";
        const auto scan = scanHead(head, 65536);
        CPPUNIT_ASSERT(scan.kind == HeadScan::Kind::Head);
        CPPUNIT_ASSERT_EQUAL(head.size(), scan.bytes);
    }

    void leadingEmptyLinesAreSkippedUpToEight() {
        const auto scan = scanHead("\r\n\r\n" + kHead, 65536);
        CPPUNIT_ASSERT(scan.kind == HeadScan::Kind::Head);
        CPPUNIT_ASSERT_EQUAL(kHead.size() + 4, scan.bytes);
        std::string many;
        for (int i = 0; i < 9; ++i) many += "\r\n";
        CPPUNIT_ASSERT(scanHead(many + kHead, 65536).kind == HeadScan::Kind::Hand);
    }

    void anEndlessHeadIsHandedOverPastTheLimit() {
        const std::string start = "GET / HTTP/1.1\r\nX-Long: " + std::string(200, 'a');
        CPPUNIT_ASSERT(scanHead(start, 1000).kind == HeadScan::Kind::More);
        CPPUNIT_ASSERT(scanHead(start, 100).kind == HeadScan::Kind::Hand);
    }

    void framingFromContentLength() {
        const auto framing = framingOf(kHead);
        CPPUNIT_ASSERT(framing.kind == BodyFraming::Kind::Length);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(12), framing.length);
        CPPUNIT_ASSERT(framingOf("POST / HTTP/1.1\r\ncontent-LENGTH:  7 \r\n\r\n").length == 7);
    }

    void framingChunked() {
        CPPUNIT_ASSERT(framingOf("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").kind == BodyFraming::Kind::Chunked);
    }

    void noFramingMeansNoBody() {
        CPPUNIT_ASSERT(framingOf("GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n").kind == BodyFraming::Kind::None);
    }

    void doubtfulFramingIsLeftToTheParser() {
        for (const std::string fields : {"Content-Length: 5\r\nContent-Length: 5\r\n", "Content-Length: 5x\r\n",
                                         "Content-Length: -1\r\n", "Content-Length:\r\n",
                                         "Transfer-Encoding: gzip, chunked\r\n",
                                         "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                                         "Content-Length: 5\r\nExpect: something-else\r\n"})
            CPPUNIT_ASSERT_MESSAGE(fields, framingOf("POST / HTTP/1.1\r\n" + fields + "\r\n").kind == BodyFraming::Kind::Unsure);
    }

    void aWholeRequestIsItsHeadAndAllOfItsBody() {
        const std::string body = "{\"model\":12}";  // 12 bytes, as kHead declares
        CPPUNIT_ASSERT(wholeRequest(kHead + body, 65536, 1000));
        CPPUNIT_ASSERT(wholeRequest(kHead + body + "GET / HTTP/1.1\r\n", 65536, 1000));  // the next one may follow
        CPPUNIT_ASSERT(!wholeRequest(kHead + body.substr(0, 11), 65536, 1000));
        CPPUNIT_ASSERT(!wholeRequest(kHead + body, 65536, 11));  // larger than the limit: not read here
        CPPUNIT_ASSERT(!wholeRequest(kHead.substr(0, 20), 65536, 1000));
        CPPUNIT_ASSERT(wholeRequest("GET /api/tags HTTP/1.1\r\nHost: x\r\n\r\n", 65536, 1000));
        const std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        CPPUNIT_ASSERT(wholeRequest(chunked + "3\r\nabc\r\n0\r\n\r\n", 65536, 1000));
        CPPUNIT_ASSERT(!wholeRequest(chunked + "3\r\nabc\r\n", 65536, 1000));
        CPPUNIT_ASSERT(!wholeRequest("POST / HTTP/1.1\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n", 65536, 1000));
    }

    void expectContinueIsNoted() {
        const auto framing = framingOf("POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-Continue\r\n\r\n");
        CPPUNIT_ASSERT(framing.kind == BodyFraming::Kind::Length);
        CPPUNIT_ASSERT(framing.expectContinue);
        CPPUNIT_ASSERT(!framingOf(kHead).expectContinue);
    }

    void aResumedScanFindsAnEndAcrossPieces() {
        // Fed a byte at a time, each scan resuming where the last stopped,
        // the end is found where a whole scan finds it, whatever the line ends.
        for (const std::string head : {kHead, std::string("GET / HTTP/1.1\nHost: x\n\n"), std::string("GET / HTTP/1.1\r\n\r\n")}) {
            std::size_t scanned = 0;
            for (std::size_t have = 1; have <= head.size(); ++have) {
                const auto scan = scanHead(std::string_view(head).substr(0, have), 65536, scanned);
                if (have < head.size()) {
                    CPPUNIT_ASSERT_MESSAGE(head, scan.kind == HeadScan::Kind::More);
                    scanned = have;
                } else {
                    CPPUNIT_ASSERT_MESSAGE(head, scan.kind == HeadScan::Kind::Head);
                    CPPUNIT_ASSERT_EQUAL(head.size(), scan.bytes);
                }
            }
        }
    }

    void theTargetOfTheRequestLine() {
        CPPUNIT_ASSERT_EQUAL(std::string("/api/chat"), std::string(requestTarget(kHead)));
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/x"), std::string(requestTarget("\r\nGET /v1/x HTTP/1.1\r\n")));
        CPPUNIT_ASSERT_EQUAL(std::string(), std::string(requestTarget("GET /v1/x")));
        CPPUNIT_ASSERT_EQUAL(std::string("POST"), std::string(requestMethod(kHead)));
        CPPUNIT_ASSERT_EQUAL(std::string(), std::string(requestMethod("GET")));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RequestScanTest);

} // namespace
