// Database against a PostgreSQL store that cannot be reached: a failed
// connect frees what it took (Poco's own connect leaked its PGconn, about
// 34 KB each), and connects during an outage are paced by one back-off.

#include <cppunit/extensions/HelperMacros.h>

#include <malloc.h>

#include <Poco/Net/ServerSocket.h>

#include "sluice/store/Database.h"

namespace {

using sluice::store::ConnectBackoff;
using sluice::store::Database;
using sluice::store::StoreError;
using sluice::store::StoreUrl;

// A loopback port nothing listens on: one just bound, then let go.
int closedPort() {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    const int port = socket.address().port();
    socket.close();
    return port;
}

StoreUrl unreachableStore() {
    return StoreUrl::parse("postgresql://sluice:secret@127.0.0.1:" + std::to_string(closedPort()) + "/sluice", "");
}

std::size_t heapInUse() { return mallinfo2().uordblks; }

class DatabaseTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DatabaseTest);
    CPPUNIT_TEST(failedConnectsFreeTheirConnection);
    CPPUNIT_TEST(anOutageIsPacedByOneBackOff);
    CPPUNIT_TEST_SUITE_END();

public:
    void failedConnectsFreeTheirConnection() {
        // No back-off: every call connects, and fails.
        Database database(unreachableStore(), 4, ConnectBackoff{std::chrono::milliseconds(0), std::chrono::milliseconds(0)});
        const auto attempt = [&] {
            try {
                database.session();
            } catch (const StoreError& e) {
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("unreachable") != std::string::npos);
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("secret") == std::string::npos);
                return;
            }
            CPPUNIT_FAIL("a session from a store that is not there");
        };
        for (int i = 0; i < 20; ++i) attempt();  // libpq's and the pool's one-time allocations
        const auto before = heapInUse();
        for (int i = 0; i < 300; ++i) attempt();
        // 300 leaked connections were about 10 MB; allow a little for the allocator's own.
        const auto grown = heapInUse() > before ? heapInUse() - before : 0;
        CPPUNIT_ASSERT_MESSAGE("heap grew by " + std::to_string(grown) + " bytes", grown < 1024 * 1024);
        CPPUNIT_ASSERT_EQUAL(std::size_t{320}, database.connectAttempts());
    }

    void anOutageIsPacedByOneBackOff() {
        // The first failure starts a minute's back-off: every call in it fails
        // at once with the last error, without a connect.
        Database database(unreachableStore(), 4, ConnectBackoff{std::chrono::minutes(1), std::chrono::minutes(1)});
        for (int i = 0; i < 50; ++i) {
            try {
                database.session();
                CPPUNIT_FAIL("a session from a store that is not there");
            } catch (const StoreError& e) {
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("unreachable") != std::string::npos);
            }
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, database.connectAttempts());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DatabaseTest);

} // namespace
