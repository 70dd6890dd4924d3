// Streams once they have begun: chunks pass through as they arrive, a backend
// that dies or stalls mid-stream ends the stream with a well-formed error in
// the client's protocol, and a client that hangs up releases the backend.

#include <cppunit/extensions/HelperMacros.h>

#include <thread>

#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "TestHelpers.h"

namespace sluice::test {

// The fixture's gateway keeps the default idle limit (30 s), far beyond every
// wait below, so only the behaviour under test can end a stream early.
class StreamingTest : public OneBackendFixture {
    CPPUNIT_TEST_SUITE(StreamingTest);
    CPPUNIT_TEST(chunksPassThroughBeforeTheStreamEnds);
    CPPUNIT_TEST(deathMidStreamEndsWithAnNdjsonError);
    CPPUNIT_TEST(deathMidStreamEndsWithAnSseError);
    CPPUNIT_TEST(stallMidStreamEndsWithAnError);
    CPPUNIT_TEST(keepAliveCommentsDoNotHideAStall);
    CPPUNIT_TEST(maxStreamCapsALongStream);
    CPPUNIT_TEST(clientHangUpReleasesTheBackend);
    CPPUNIT_TEST(aSlowReaderGetsTheWholeStreamInOrder);
    CPPUNIT_TEST(closeDelimitedStreamsEndRight);
    CPPUNIT_TEST_SUITE_END();

public:
    void chunksPassThroughBeforeTheStreamEnds() {
        // The backend sends two chunks and then nothing: a gateway that buffered
        // the stream would deliver nothing until the end.
        _backend->setRules({{{"hang_after_chunks", 2}, {"chunks", 5}}});
        HttpClient client(_gateway->port(), std::chrono::seconds(5));
        Poco::Net::HTTPResponse response;
        auto& in = client.open("POST", "/api/chat", ollamaChat("llama3.2", true), response);
        CPPUNIT_ASSERT_EQUAL(200, static_cast<int>(response.getStatus()));
        std::string first, second;
        CPPUNIT_ASSERT(std::getline(in, first));
        CPPUNIT_ASSERT(std::getline(in, second));
        CPPUNIT_ASSERT_EQUAL(std::string("Hello"), nlohmann::json::parse(first)["message"]["content"].get<std::string>());
        CPPUNIT_ASSERT(!nlohmann::json::parse(second)["done"].get<bool>());
        client.session().abort();
    }

    void deathMidStreamEndsWithAnNdjsonError() {
        _backend->setRules({{{"die_after_chunks", 2}}});
        const auto answer = httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        const auto lines = ndjsonLines(answer.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), lines.size());  // two chunks, then the error, all whole JSON
        CPPUNIT_ASSERT(lines[1].contains("message"));
        CPPUNIT_ASSERT(lines[2]["error"].is_string());
        CPPUNIT_ASSERT(!lines[2]["error"].get<std::string>().empty());
        // After the failure the gateway serves the next request normally.
        _backend->setRules(nlohmann::json::array());
        CPPUNIT_ASSERT_EQUAL(200, httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", true)).status);
    }

    void deathMidStreamEndsWithAnSseError() {
        _backend->setRules({{{"die_after_chunks", 2}}});
        const auto answer = httpPost(_gateway->port(), "/v1/chat/completions", openAiChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        const auto data = sseData(answer.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), data.size());
        const auto error = nlohmann::json::parse(data.back());
        CPPUNIT_ASSERT(error["error"]["message"].is_string());
        CPPUNIT_ASSERT_EQUAL(std::string("upstream_stream_failed"), error["error"]["code"].get<std::string>());
        CPPUNIT_ASSERT(answer.body.find("[DONE]") == std::string::npos);
        CPPUNIT_ASSERT(answer.body.ends_with("\n\n"));
    }

    void stallMidStreamEndsWithAnError() {  // and a slow first byte does not
        TestGateway strict(baseConfig() + "backends = gpu\n" + backendConfig("gpu", _backend->url()) +
                           "backends.gpu.timeout.idle_ms = 700\n");
        _backend->setRules({{{"hang_after_chunks", 1}}});
        const auto answer = httpPost(strict.port(), "/api/chat", ollamaChat("llama3.2", true));
        const auto lines = ndjsonLines(answer.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), lines.size());
        CPPUNIT_ASSERT(lines[1]["error"].get<std::string>().find("stalled") != std::string::npos);

        // A first byte slower than the idle timeout is a model loading, not a
        // stall: timeout.first_byte_ms (a minute by default) governs it, and it is waited for.
        _backend->setRules({{{"delay_first_byte_ms", 1500}}});
        const auto loading = httpPost(strict.port(), "/api/chat", ollamaChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, loading.status);
        const auto loaded = ndjsonLines(loading.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), loaded.size());
        CPPUNIT_ASSERT(loaded.back()["done"].get<bool>());
    }

    void keepAliveCommentsDoNotHideAStall() {
        // One chunk, then a ": keep-alive" comment every 50 ms for up to 60 s:
        // bytes keep coming, answer data does not. The idle limit (700 ms)
        // counts from the last data, so the stream ends as a stall long
        // before the fake's 60 s (the client's own timeout is 20 s).
        TestGateway strict(baseConfig() + "backends = gpu\n" + backendConfig("gpu", _backend->url()) +
                           "backends.gpu.timeout.idle_ms = 700\n");
        _backend->setRules({{{"comments_after_chunks", 1}}});
        const auto answer = httpPost(strict.port(), "/v1/chat/completions", openAiChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        const auto data = sseData(answer.body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), data.size());  // the chunk, then the error
        const auto error = nlohmann::json::parse(data.back());
        CPPUNIT_ASSERT(error["error"]["message"].get<std::string>().find("stalled") != std::string::npos);
        CPPUNIT_ASSERT(answer.body.find(": keep-alive") != std::string::npos);  // they were relayed meanwhile
    }

    void maxStreamCapsALongStream() {
        // 100 chunks 100 ms apart (10 s) against a 1 s cap: the stream ends
        // with the protocol's error, and the backend is not blamed for it.
        TestGateway capped(baseConfig() + "backends = gpu\n" + backendConfig("gpu", _backend->url()) +
                           "timeout.max_stream_s = 1\n");
        _backend->setRules({{{"chunks", 100}, {"chunk_interval_ms", 100}}});
        const auto answer = httpPost(capped.port(), "/v1/chat/completions", openAiChat("llama3.2", true));
        CPPUNIT_ASSERT_EQUAL(200, answer.status);
        const auto data = sseData(answer.body);
        CPPUNIT_ASSERT(data.size() >= 2 && data.size() < 100);
        const auto error = nlohmann::json::parse(data.back());
        CPPUNIT_ASSERT_EQUAL(std::string("stream_too_long"), error["error"]["code"].get<std::string>());
        CPPUNIT_ASSERT(answer.body.find("[DONE]") == std::string::npos);
        const auto health = nlohmann::json::parse(httpGet(capped.port(), "/v1/health").body);
        CPPUNIT_ASSERT(health["backends"][0]["last_error"].is_null());
    }

    void clientHangUpReleasesTheBackend() {
        _backend->setRules({{{"hang_after_chunks", 1}}});
        {
            HttpClient client(_gateway->port(), std::chrono::seconds(5));
            Poco::Net::HTTPResponse response;
            auto& in = client.open("POST", "/api/chat", ollamaChat("llama3.2", true), response);
            std::string first;
            CPPUNIT_ASSERT(std::getline(in, first));
            CPPUNIT_ASSERT_EQUAL(1, _backend->stats()["in_flight"].get<int>());
            client.session().abort();
        }
        // The backend sees its request end well before its own 60 s hang limit
        // or the gateway's 30 s idle limit: only the hang-up explains it.
        CPPUNIT_ASSERT(eventually([&] { return _backend->stats()["in_flight"].get<int>() == 0; }));
        CPPUNIT_ASSERT(_backend->stats()["cancelled"].get<int>() >= 1);
        CPPUNIT_ASSERT(eventually([&] {
            return httpGet(_gateway->port(), "/metrics").body.find("sluice_upstream_in_flight{backend=\"gpu\"} 0") !=
                   std::string::npos;
        }));
    }

    void aSlowReaderGetsTheWholeStreamInOrder() {
        // Some 6 MB of stream to a client with a 4 KiB socket buffer that
        // reads 512 bytes at a time: the relay holds the backend back while
        // the client catches up (the I/O thread's backlog, 256 KiB), and
        // every line arrives once, in order, in well-formed chunks; the
        // backend is not taken for stalled.
        constexpr int kChunks = 40000;
        _backend->setRules({{{"chunks", kChunks}, {"times", 1}}});
        Poco::Net::StreamSocket socket(Poco::Net::SocketAddress::IPv4);  // made now: its buffer is set before the connect
        socket.setReceiveBufferSize(4096);
        socket.connect(Poco::Net::SocketAddress("127.0.0.1", static_cast<Poco::UInt16>(_gateway->port())));
        socket.setReceiveTimeout(Poco::Timespan(30, 0));
        const auto body = ollamaChat("llama3.2", true);
        const auto request = "POST /api/chat HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body;
        socket.sendBytes(request.data(), static_cast<int>(request.size()));
        // Not a timing the test depends on: the pause lets the backend get
        // far ahead, so the relay's backlog fills and it stops reading the
        // backend; the assertions hold however long it lasts.
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        std::string wire;
        char piece[512];
        while (const int n = socket.receiveBytes(piece, sizeof piece)) wire.append(piece, static_cast<std::size_t>(n));
        const auto headEnd = wire.find("\r\n\r\n");
        CPPUNIT_ASSERT(wire.rfind("HTTP/1.1 200", 0) == 0 && headEnd != std::string::npos);
        // The chunked body, taken apart by hand: any framing slip fails here.
        std::string stream;
        bool lastChunk = false;
        for (std::size_t at = headEnd + 4; !lastChunk;) {
            const auto lineEnd = wire.find("\r\n", at);
            CPPUNIT_ASSERT(lineEnd != std::string::npos);
            const auto size = std::stoul(wire.substr(at, lineEnd - at), nullptr, 16);
            CPPUNIT_ASSERT(wire.compare(lineEnd + 2 + size, 2, "\r\n") == 0);
            stream.append(wire, lineEnd + 2, size);
            at = lineEnd + 4 + size;
            lastChunk = size == 0;
            if (lastChunk) CPPUNIT_ASSERT_EQUAL(wire.size(), at);
        }
        const auto lines = ndjsonLines(stream);
        CPPUNIT_ASSERT_EQUAL(std::size_t(kChunks + 1), lines.size());
        for (std::size_t i = 0; i + 1 < lines.size(); ++i) CPPUNIT_ASSERT(!lines[i]["done"].get<bool>());
        CPPUNIT_ASSERT(lines.back()["done"].get<bool>());
        const auto health = nlohmann::json::parse(httpGet(_gateway->port(), "/v1/health").body);
        CPPUNIT_ASSERT(health["backends"][0]["last_error"].is_null());
    }

    void closeDelimitedStreamsEndRight() {
        // A body that ends only by the backend's close: whole is fine...
        _backend->setRules({{{"close_delimited", true}, {"times", 1}}});
        const auto whole = ndjsonLines(httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", true)).body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), whole.size());
        CPPUNIT_ASSERT(whole.back()["done"].get<bool>());
        // ...but a close mid-line is a broken stream, not a finished one.
        _backend->setRules({{{"close_delimited", true}, {"cut_after_chunks", 2}, {"times", 1}}});
        const auto cut = ndjsonLines(httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", true)).body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), cut.size());
        for (const auto& line : cut) CPPUNIT_ASSERT(!line.is_discarded());
        CPPUNIT_ASSERT(cut.back()["error"].is_string());
    }

};

CPPUNIT_TEST_SUITE_REGISTRATION(StreamingTest);

} // namespace sluice::test
