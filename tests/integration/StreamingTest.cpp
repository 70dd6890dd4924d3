// Streams once they have begun: chunks pass through as they arrive, a backend
// that dies or stalls mid-stream ends the stream with a well-formed error in
// the client's protocol, and a client that hangs up releases the backend.

#include <cppunit/extensions/HelperMacros.h>

#include <Poco/Net/HTTPResponse.h>

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
