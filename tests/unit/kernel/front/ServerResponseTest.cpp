// ServerResponse's chunked body: its head waits for the first chunk and
// leaves with it (one send), each flush is one chunk, and the body's end
// goes with what is pending (a parked relay's last chunks) in one write as
// the response goes.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "front/ClientSession.h"
#include "front/ServerResponse.h"

namespace {

using sluice::kernel::ClientSession;
using sluice::kernel::ServerResponse;

class ServerResponseTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ServerResponseTest);
    CPPUNIT_TEST(aStreamsHeadLeavesWithItsFirstChunk);
    CPPUNIT_TEST(heldChunksLeaveWithTheLastOne);
    CPPUNIT_TEST(anEmptyFlushSendsAHeadStillHeld);
    CPPUNIT_TEST(ownFieldsGoIntoEveryHead);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _listener = Poco::Net::ServerSocket(Poco::Net::SocketAddress("127.0.0.1", 0));
        _client = Poco::Net::StreamSocket(_listener.address());
        _accepted = _listener.acceptConnection();
        _accepted.setNoDelay(true);  // as sluiced sets it: each write leaves at once
        _session = std::make_unique<ClientSession>(_accepted, Poco::Net::HTTPServerParams::Ptr(new Poco::Net::HTTPServerParams));
    }

    void tearDown() override { _session.reset(); }

    void aStreamsHeadLeavesWithItsFirstChunk() {
        ServerResponse response(*_session);
        response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
        response.setChunkedTransferEncoding(true);
        auto& body = response.send();
        CPPUNIT_ASSERT(body.good());
        CPPUNIT_ASSERT_EQUAL(std::string(), waiting());  // the head waits for the first chunk

        body << "first";
        body.flush();
        const auto sent = waiting();
        CPPUNIT_ASSERT(sent.starts_with("HTTP/1.1 200 OK\r\n"));
        CPPUNIT_ASSERT(sent.ends_with("Transfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n"));

        body << "second frame";
        body.flush();
        CPPUNIT_ASSERT_EQUAL(std::string("c\r\nsecond frame\r\n"), waiting());

        response.finishBody();
        CPPUNIT_ASSERT_EQUAL(std::string(), waiting());  // the end waits for the response to go
    }

    void heldChunksLeaveWithTheLastOne() {
        {
            ServerResponse response(*_session);
            response.setChunkedTransferEncoding(true);
            auto& body = response.send();
            body << "a";
            body.flush();
            waiting();
            response.holdChunks("3\r\nend\r\n");
            response.finishBody();
            CPPUNIT_ASSERT_EQUAL(std::string(), waiting());  // held, not sent alone
        }
        CPPUNIT_ASSERT_EQUAL(std::string("3\r\nend\r\n0\r\n\r\n"), waiting());
    }

    void anEmptyFlushSendsAHeadStillHeld() {
        // A relay writes to the socket itself after a flush: the head must
        // be out by then, even with no chunk to carry it.
        ServerResponse response(*_session);
        response.setChunkedTransferEncoding(true);
        response.send().flush();
        CPPUNIT_ASSERT(waiting().ends_with("Transfer-Encoding: chunked\r\n\r\n"));
    }

    void ownFieldsGoIntoEveryHead() {
        {
            ServerResponse whole(*_session);
            whole.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
            whole.setContentType("application/json");
            whole.addOwnField("X-Request-ID", "abc");
            whole.sendBuffer("{}", 2);
        }
        CPPUNIT_ASSERT_EQUAL(std::string("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                                         "X-Request-ID: abc\r\n\r\n{}"),
                             waiting());
        {
            ServerResponse head(*_session);
            head.setVersion(Poco::Net::HTTPMessage::HTTP_1_1);
            head.setHeadRequest(true);
            head.setContentLength(10);
            head.addOwnField("X-Sluice-Backend", "a");
            head.send() << "dropped";
        }
        CPPUNIT_ASSERT_EQUAL(std::string("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Sluice-Backend: a\r\n\r\n"), waiting());
    }

private:
    // What the client can read now, without waiting for more.
    std::string waiting() {
        std::string got;
        char buffer[4096];
        while (_client.available() > 0) {
            const int n = _client.receiveBytes(buffer, sizeof buffer);
            if (n <= 0) break;
            got.append(buffer, static_cast<std::size_t>(n));
        }
        return got;
    }

    Poco::Net::ServerSocket _listener;
    Poco::Net::StreamSocket _client;
    Poco::Net::StreamSocket _accepted;
    std::unique_ptr<ClientSession> _session;
};

CPPUNIT_TEST_SUITE_REGISTRATION(ServerResponseTest);

} // namespace
