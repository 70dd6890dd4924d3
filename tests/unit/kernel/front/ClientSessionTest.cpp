// ClientSession: one per connection, used by its requests one after
// another. What a request brought is read before the socket, what it left
// unread is handed back, and between requests the session holds no memory
// for request bytes (an idle keep-alive connection keeps no buffer).
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "front/ClientSession.h"

namespace {

class ClientSessionTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ClientSessionTest);
    CPPUNIT_TEST(anIdleSessionHoldsNoRequestBytes);
    CPPUNIT_TEST_SUITE_END();

public:
    void anIdleSessionHoldsNoRequestBytes() {
        Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
        Poco::Net::StreamSocket client(listener.address());
        const Poco::Net::StreamSocket accepted = listener.acceptConnection();
        const Poco::Net::HTTPServerParams::Ptr params(new Poco::Net::HTTPServerParams);
        sluice::kernel::ClientSession session(accepted, params);

        // A large request, then the start of a pipelined next one.
        const std::string request(250000, 'x');
        session.begin(request + "GET /next");
        std::string read(request.size(), '\0');
        std::size_t got = 0;
        while (got < read.size()) got += static_cast<std::size_t>(session.readSome(read.data() + got, static_cast<std::streamsize>(read.size() - got)));
        CPPUNIT_ASSERT(read == request);
        CPPUNIT_ASSERT(session.heldBytes() >= request.size());
        CPPUNIT_ASSERT_EQUAL(std::string("GET /next"), session.takeUnread());
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, session.heldBytes());

        // The next request on the same session reads its own bytes.
        session.begin("GET /next HTTP/1.1\r\n\r\n");
        char first[3] = {};
        CPPUNIT_ASSERT_EQUAL(3, session.readSome(first, 3));
        CPPUNIT_ASSERT_EQUAL(std::string("GET"), std::string(first, 3));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ClientSessionTest);

} // namespace
