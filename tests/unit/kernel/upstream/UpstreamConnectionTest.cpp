// UpstreamConnection::open: a gateway out of file descriptors is its own
// shortage (Overloaded: 503, no failover), not the backend's failure.
#include <cppunit/extensions/HelperMacros.h>

#include <cerrno>
#include <filesystem>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <Poco/Net/ServerSocket.h>

#include "sluice/Backend.h"
#include "upstream/UpstreamConnection.h"
#include "upstream/UpstreamError.h"

namespace {

using sluice::kernel::UpstreamConnection;
using sluice::kernel::UpstreamError;

// Takes every descriptor below a lowered limit while it lives.
class DescriptorsTaken {
public:
    DescriptorsTaken() {
        ::getrlimit(RLIMIT_NOFILE, &_before);
        int highest = 0;
        for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
            highest = std::max(highest, std::stoi(entry.path().filename().string()));
        rlimit lowered = _before;
        lowered.rlim_cur = static_cast<rlim_t>(highest) + 8;
        ::setrlimit(RLIMIT_NOFILE, &lowered);
        for (int fd = ::dup(0); fd >= 0; fd = ::dup(0)) _taken.push_back(fd);
        _full = errno == EMFILE;
    }
    ~DescriptorsTaken() {
        for (const int fd : _taken) ::close(fd);
        ::setrlimit(RLIMIT_NOFILE, &_before);
    }
    bool full() const { return _full; }

private:
    rlimit _before{};
    std::vector<int> _taken;
    bool _full = false;
};

class UpstreamConnectionTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(UpstreamConnectionTest);
    CPPUNIT_TEST(noDescriptorLeftIsTheGatewaysShortage);
    CPPUNIT_TEST_SUITE_END();

public:
    void noDescriptorLeftIsTheGatewaysShortage() {
        // A backend that is listening: only the gateway's own socket can fail.
        Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
        sluice::Backend backend;
        backend.name = "gpu";
        backend.host = "127.0.0.1";
        backend.port = listener.address().port();
        {
            DescriptorsTaken taken;
            CPPUNIT_ASSERT(taken.full());
            try {
                UpstreamConnection::open(backend, nullptr, nullptr);
                CPPUNIT_FAIL("a socket was had with no descriptor left");
            } catch (const UpstreamError& error) {
                CPPUNIT_ASSERT_MESSAGE(error.what(), error.kind() == UpstreamError::Kind::Overloaded);
                CPPUNIT_ASSERT(!error.clientMessage().empty());
            }
        }
        // With descriptors back, the same backend connects.
        CPPUNIT_ASSERT(UpstreamConnection::open(backend, nullptr, nullptr) != nullptr);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(UpstreamConnectionTest);

} // namespace
