// A thousand streams held open at once through the real sluiced (each a few
// seconds of chunks from the fake) with eight workers, while short requests
// on other connections are still answered; then every stream ends whole.
// A stream's rest is relayed by the I/O threads with its request parked
// (net/Fiber): with a worker held per stream, as before, no more than eight
// could be open at once. The gateway's resident memory and thread count at
// the peak are printed for the record (docs/architecture.md).

#include <poll.h>

#include <iostream>

#include <cppunit/extensions/HelperMacros.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {

using namespace std::chrono_literals;

constexpr int kStreams = 1000;

} // namespace

class ManyStreamsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ManyStreamsTest);
    CPPUNIT_TEST(aThousandStreamsAtOnceWhileShortRequestsAreServed);
    CPPUNIT_TEST_SUITE_END();

public:
    void aThousandStreamsAtOnceWhileShortRequestsAreServed() {
        raiseDescriptorLimit();
        FakeBackend backend("ollama", "gpu-box");
        // 25 chunks 400 ms apart: every stream lasts about 10 s.
        backend.setRules({{{"path", "/api/chat"}, {"chunks", 25}, {"chunk_interval_ms", 400}, {"times", 100000}}});
        // Every stream comes from 127.0.0.1: no cap per client address here.
        TestGateway gateway(baseConfig() + "backends = gpu\n" + backendConfig("gpu", backend.url()) +
                            "server.max_threads = 8\nserver.max_connections_per_client = 0\nlog.access = false\n");
        const int port = gateway.port();
        const auto idleRss = processStatus(gateway.process().pid(), "VmRSS");

        const auto body = ollamaChat("llama3.2", true);
        const auto request = "POST /api/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
                             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        std::vector<Poco::Net::StreamSocket> streams(kStreams);
        std::vector<std::string> answers(kStreams);
        for (auto& socket : streams) {
            socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(port)), Poco::Timespan(10, 0));
            socket.sendBytes(request.data(), static_cast<int>(request.size()));
        }
        // Read whatever arrives on any of them, until each has closed or `until` passes.
        std::vector<bool> open(kStreams, true);
        auto pump = [&](std::chrono::steady_clock::time_point until, const std::function<bool()>& enough) {
            std::vector<pollfd> fds(kStreams);
            while (std::chrono::steady_clock::now() < until && !enough()) {
                int watched = 0;
                for (int i = 0; i < kStreams; ++i) fds[static_cast<std::size_t>(i)] = {open[i] ? streams[i].impl()->sockfd() : -1, POLLIN, 0};
                for (bool o : open) watched += o ? 1 : 0;
                if (watched == 0) return;
                if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
                char buffer[16384];
                for (int i = 0; i < kStreams; ++i) {
                    if (!open[i] || fds[static_cast<std::size_t>(i)].revents == 0) continue;
                    const int n = ::recv(streams[i].impl()->sockfd(), buffer, sizeof buffer, 0);
                    if (n <= 0) open[i] = false;
                    else answers[i].append(buffer, static_cast<std::size_t>(n));
                }
            }
        };
        // All of them streaming at once: the backend holds them all.
        pump(std::chrono::steady_clock::now() + 60s, [&] { return backend.stats().value("in_flight", 0) >= kStreams; });
        CPPUNIT_ASSERT_EQUAL_MESSAGE(gateway.output().substr(0, 2000), kStreams, backend.stats().value("in_flight", 0));

        // Short requests still answered while they stream.
        const auto peakRss = processStatus(gateway.process().pid(), "VmRSS");
        const auto peakThreads = processStatus(gateway.process().pid(), "Threads");
        // Eight workers, the I/O threads and the gateway's few own: no thread per stream.
        CPPUNIT_ASSERT_MESSAGE(std::to_string(peakThreads) + " threads", peakThreads < 64);
        HttpClient client(port, 10s);
        for (int i = 0; i < 20; ++i) {
            CPPUNIT_ASSERT_EQUAL(200, client.get("/api/tags").status);
            CPPUNIT_ASSERT_EQUAL(200, client.post("/api/embed", R"({"model":"llama3.2","input":"hi"})").status);
            pump(std::chrono::steady_clock::now() + 20ms, [] { return false; });  // keep the streams read
        }

        pump(std::chrono::steady_clock::now() + 120s, [] { return false; });
        int whole = 0;
        for (const auto& answer : answers)
            whole += answer.rfind("HTTP/1.1 200", 0) == 0 && answer.find("\"done\":true") != std::string::npos ? 1 : 0;
        CPPUNIT_ASSERT_EQUAL(kStreams, whole);
        std::cout << "\n  " << kStreams << " open streams: sluiced RSS " << peakRss / 1024 << " MiB (" << idleRss / 1024
                  << " MiB idle), " << peakThreads << " threads" << std::endl;
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ManyStreamsTest);

} // namespace sluice::test
