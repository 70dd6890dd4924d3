// parseResponseHead: an upstream's status line and headers.
#include <cppunit/extensions/HelperMacros.h>

#include "upstream/ResponseReader.h"
#include "upstream/UpstreamError.h"

namespace {

using sluice::kernel::parseResponseHead;
using sluice::kernel::ResponseHead;
using sluice::kernel::UpstreamError;

class ResponseReaderTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ResponseReaderTest);
    CPPUNIT_TEST(parsesStatusAndHeaders);
    CPPUNIT_TEST(readsChunked);
    CPPUNIT_TEST(connectionCloseEndsKeepAlive);
    CPPUNIT_TEST(http10IsNotKeepAlive);
    CPPUNIT_TEST(acceptsBareLfHead);
    CPPUNIT_TEST(bareLfHeadFollowedByChunkedBody);
    CPPUNIT_TEST(incompleteHeadReturnsZero);
    CPPUNIT_TEST(garbageStatusLineThrows);
    CPPUNIT_TEST(badHeadersThrow);
    CPPUNIT_TEST(statusCodeMustBeThreeDigits);
    CPPUNIT_TEST(identityTransferEncodingIsAccepted);
    CPPUNIT_TEST_SUITE_END();

public:
    void parsesStatusAndHeaders() {
        const std::string head = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                                 "X-Request-ID:  abc \r\nContent-Length: 12\r\n\r\n";
        ResponseHead parsed;
        CPPUNIT_ASSERT_EQUAL(head.size(), parseResponseHead(head + "{\"error\":1}", parsed));
        CPPUNIT_ASSERT_EQUAL(404, parsed.status);
        CPPUNIT_ASSERT(parsed.keepAlive);
        CPPUNIT_ASSERT(!parsed.chunked);
        CPPUNIT_ASSERT(parsed.contentLength.has_value());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{12}, *parsed.contentLength);
        CPPUNIT_ASSERT(parsed.header("content-type") != nullptr);
        CPPUNIT_ASSERT_EQUAL(std::string("application/json"), *parsed.header("content-type"));
        CPPUNIT_ASSERT_EQUAL(std::string("abc"), *parsed.header("x-request-id"));
        CPPUNIT_ASSERT(parsed.header("Content-Type") == nullptr);  // names are lower-cased
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, parsed.headers.size());
    }

    void readsChunked() {
        ResponseHead parsed;
        parseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", parsed);
        CPPUNIT_ASSERT_EQUAL(200, parsed.status);
        CPPUNIT_ASSERT(parsed.chunked);
        CPPUNIT_ASSERT(!parsed.contentLength.has_value());  // chunked wins
    }

    void connectionCloseEndsKeepAlive() {
        ResponseHead parsed;
        parseResponseHead("HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n", parsed);
        CPPUNIT_ASSERT(!parsed.keepAlive);
    }

    void http10IsNotKeepAlive() {
        ResponseHead parsed;
        parseResponseHead("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", parsed);
        CPPUNIT_ASSERT_EQUAL(200, parsed.status);
        CPPUNIT_ASSERT(!parsed.keepAlive);
        ResponseHead kept;
        parseResponseHead("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", kept);
        CPPUNIT_ASSERT(kept.keepAlive);
    }

    void acceptsBareLfHead() {
        const std::string head = "HTTP/1.1 204\nServer: x\n\n";
        ResponseHead parsed;
        CPPUNIT_ASSERT_EQUAL(head.size(), parseResponseHead(head, parsed));
        CPPUNIT_ASSERT_EQUAL(204, parsed.status);
        CPPUNIT_ASSERT_EQUAL(std::string("x"), *parsed.header("server"));
    }

    // The head ends at the first blank line, even when the body read with it
    // (here a chunked body) contains a CRLF CRLF further on.
    void bareLfHeadFollowedByChunkedBody() {
        const std::string head = "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n";
        ResponseHead parsed;
        std::size_t used = 0;
        CPPUNIT_ASSERT_NO_THROW(used = parseResponseHead(head + "4\r\nWiki\r\n0\r\n\r\n", parsed));
        CPPUNIT_ASSERT_EQUAL(head.size(), used);
        CPPUNIT_ASSERT(parsed.chunked);
    }

    void incompleteHeadReturnsZero() {
        for (const char* partial : {"", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r",
                                    "garbage without end"}) {
            ResponseHead parsed;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(partial, std::size_t{0}, parseResponseHead(partial, parsed));
        }
    }

    void garbageStatusLineThrows() {
        for (const char* bad : {"SSH-2.0-OpenSSH_9.2\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n",
                                "HTTP/1.1 099 Low\r\n\r\n", "HTTP/1.1 600 High\r\n\r\n", "HTTP/2 200\r\n\r\n",
                                "\r\n\r\n"}) {
            expectProtocolError(bad);
        }
    }

    void badHeadersThrow() {
        expectProtocolError("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n");
        expectProtocolError("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n");
        expectProtocolError("HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n");
        expectProtocolError("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
        expectProtocolError("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
    }

    // RFC 9112: status-code is exactly 3 digits, then SP (or the end of the line).
    void statusCodeMustBeThreeDigits() {
        expectProtocolError("HTTP/1.1 2000 OK\r\n\r\n");
        expectProtocolError("HTTP/1.1 200OK\r\n\r\n");
    }

    // "identity" means no transfer coding: the body is framed by Content-Length.
    void identityTransferEncodingIsAccepted() {
        ResponseHead parsed;
        CPPUNIT_ASSERT_NO_THROW(
            parseResponseHead("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 2\r\n\r\n", parsed));
        CPPUNIT_ASSERT(!parsed.chunked);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, parsed.contentLength.value_or(0));
    }

private:
    static void expectProtocolError(const std::string& bytes) {
        ResponseHead parsed;
        try {
            parseResponseHead(bytes, parsed);
        } catch (const UpstreamError& e) {
            CPPUNIT_ASSERT_MESSAGE(bytes, e.kind() == UpstreamError::Kind::Protocol);
            return;
        }
        CPPUNIT_FAIL("no UpstreamError for: " + bytes);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ResponseReaderTest);

} // namespace
