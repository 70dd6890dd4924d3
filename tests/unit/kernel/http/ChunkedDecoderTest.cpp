// ChunkedDecoder: HTTP/1.1 chunked bodies fed in pieces of any size.
#include <cppunit/extensions/HelperMacros.h>

#include "http/ChunkedDecoder.h"

namespace {

using sluice::kernel::ChunkedDecoder;

const std::string kMessage = "4\r\nWiki\r\n6\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0\r\n\r\n";
const std::string kPayload = "Wikipedia in \r\n\r\nchunks.";

class ChunkedDecoderTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ChunkedDecoderTest);
    CPPUNIT_TEST(decodesWholeMessage);
    CPPUNIT_TEST(byteByByteGivesSamePayload);
    CPPUNIT_TEST(notDoneBeforeLastChunk);
    CPPUNIT_TEST(skipsChunkExtensions);
    CPPUNIT_TEST(readsAndDropsTrailers);
    CPPUNIT_TEST(toleratesBareLf);
    CPPUNIT_TEST(badHexFails);
    CPPUNIT_TEST(missingCrlfAfterDataFails);
    CPPUNIT_TEST(tooManySizeDigitsFails);
    CPPUNIT_TEST(leavesBytesAfterFinalChunk);
    CPPUNIT_TEST_SUITE_END();

public:
    void decodesWholeMessage() {
        ChunkedDecoder decoder;
        std::string payload;
        CPPUNIT_ASSERT_EQUAL(kMessage.size(), decoder.feed(kMessage, payload));
        CPPUNIT_ASSERT(decoder.done());
        CPPUNIT_ASSERT(!decoder.failed());
        CPPUNIT_ASSERT_EQUAL(kPayload, payload);
    }

    void byteByByteGivesSamePayload() {
        ChunkedDecoder decoder;
        std::string payload;
        for (char c : kMessage) CPPUNIT_ASSERT_EQUAL(std::size_t{1}, decoder.feed(std::string_view(&c, 1), payload));
        CPPUNIT_ASSERT(decoder.done());
        CPPUNIT_ASSERT_EQUAL(kPayload, payload);
        // Split at every position into two feeds.
        for (std::size_t split = 0; split <= kMessage.size(); ++split) {
            ChunkedDecoder twoPieces;
            std::string out;
            const std::string_view all(kMessage);
            const auto used = twoPieces.feed(all.substr(0, split), out) + twoPieces.feed(all.substr(split), out);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(split), kMessage.size(), used);
            CPPUNIT_ASSERT_MESSAGE(std::to_string(split), twoPieces.done());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(split), kPayload, out);
        }
    }

    void notDoneBeforeLastChunk() {
        ChunkedDecoder decoder;
        std::string payload;
        const std::string first = "4\r\nWiki\r\n";
        CPPUNIT_ASSERT_EQUAL(first.size(), decoder.feed(first, payload));
        CPPUNIT_ASSERT(!decoder.done());
        CPPUNIT_ASSERT(!decoder.failed());
        CPPUNIT_ASSERT_EQUAL(std::string("Wiki"), payload);
        decoder.feed("0\r\n\r", payload);
        CPPUNIT_ASSERT(!decoder.done());
        decoder.feed("\n", payload);
        CPPUNIT_ASSERT(decoder.done());
    }

    void skipsChunkExtensions() {
        ChunkedDecoder decoder;
        std::string payload;
        const std::string message = "4;name=value\r\nWiki\r\na ; other=\"x;y\"\r\n0123456789\r\n0;last\r\n\r\n";
        CPPUNIT_ASSERT_EQUAL(message.size(), decoder.feed(message, payload));
        CPPUNIT_ASSERT(decoder.done());
        CPPUNIT_ASSERT_EQUAL(std::string("Wiki0123456789"), payload);
    }

    void readsAndDropsTrailers() {
        ChunkedDecoder decoder;
        std::string payload;
        const std::string message = "3\r\nabc\r\n0\r\nX-Checksum: 1234\r\nX-Other: y\r\n\r\n";
        CPPUNIT_ASSERT_EQUAL(message.size(), decoder.feed(message, payload));
        CPPUNIT_ASSERT(decoder.done());
        CPPUNIT_ASSERT_EQUAL(std::string("abc"), payload);
    }

    void toleratesBareLf() {
        ChunkedDecoder decoder;
        std::string payload;
        const std::string message = "4\nWiki\n5;x\npedia\n0\nTrailer: t\n\n";
        CPPUNIT_ASSERT_EQUAL(message.size(), decoder.feed(message, payload));
        CPPUNIT_ASSERT(decoder.done());
        CPPUNIT_ASSERT_EQUAL(std::string("Wikipedia"), payload);
    }

    void badHexFails() {
        for (const char* bad : {"zz\r\n", "\r\n", "4x\r\nWiki\r\n", "-1\r\n"}) {
            ChunkedDecoder decoder;
            std::string payload;
            decoder.feed(bad, payload);
            CPPUNIT_ASSERT_MESSAGE(bad, decoder.failed());
            CPPUNIT_ASSERT_MESSAGE(bad, !decoder.done());
            CPPUNIT_ASSERT_MESSAGE(bad, !decoder.error().empty());
        }
    }

    void missingCrlfAfterDataFails() {
        for (const char* bad : {"4\r\nWikiX\r\n0\r\n\r\n", "4\r\nWiki\rX", "4\rX"}) {
            ChunkedDecoder decoder;
            std::string payload;
            decoder.feed(bad, payload);
            CPPUNIT_ASSERT_MESSAGE(bad, decoder.failed());
        }
        // Once failed it consumes nothing more.
        ChunkedDecoder decoder;
        std::string payload;
        decoder.feed("4\r\nWikiX", payload);
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, decoder.feed("\r\n0\r\n\r\n", payload));
    }

    void tooManySizeDigitsFails() {
        ChunkedDecoder decoder;
        std::string payload;
        decoder.feed("1000000000000000\r\n", payload);
        CPPUNIT_ASSERT(decoder.failed());
    }

    void leavesBytesAfterFinalChunk() {
        ChunkedDecoder decoder;
        std::string payload;
        const std::string next = "HTTP/1.1 200 OK\r\n\r\n";
        CPPUNIT_ASSERT_EQUAL(kMessage.size(), decoder.feed(kMessage + next, payload));
        CPPUNIT_ASSERT(decoder.done());
        CPPUNIT_ASSERT_EQUAL(kPayload, payload);
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, decoder.feed(next, payload));
        CPPUNIT_ASSERT_EQUAL(kPayload, payload);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ChunkedDecoderTest);

} // namespace
