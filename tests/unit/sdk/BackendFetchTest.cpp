// fetchJson against a small HTTP server in this process: the credential and
// base path it sends, what it makes of each kind of answer, and that its
// errors never carry the token.
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include <cppunit/extensions/HelperMacros.h>

#include <Poco/Event.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>

#include "sluice/BackendFetch.h"

namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

const std::string kToken = "secret-token-123";

// What the server saw, and what it waits on before a hung answer.
struct ServerState {
    std::mutex mutex;
    std::string lastPath;
    std::string lastAuthorization;
    std::string lastApiKey;
    Poco::Event release{Poco::Event::EVENT_MANUALRESET};
    std::atomic<bool> stopping{false};
};

class Handler : public Poco::Net::HTTPRequestHandler {
public:
    explicit Handler(std::shared_ptr<ServerState> state) : _state(std::move(state)) {}

    void handleRequest(HTTPServerRequest& request, HTTPServerResponse& response) override {
        const auto path = request.getURI();
        {
            std::lock_guard lock(_state->mutex);
            _state->lastPath = path;
            _state->lastAuthorization = request.get("Authorization", "");
            _state->lastApiKey = request.get("x-api-key", "");
        }
        response.setContentType("application/json");
        if (path == "/api/tags" || path == "/v1/models") {
            const auto credential = request.get("Authorization", request.get("x-api-key", ""));
            if (credential != "Bearer " + kToken && credential != kToken) {
                // Echoes what it got, as careless servers do.
                response.setStatus(HTTPResponse::HTTP_UNAUTHORIZED);
                response.send() << nlohmann::json{{"error", "bad credential: " + credential}}.dump();
                return;
            }
            response.send() << R"({"models":[{"name":"llama3.2:latest"},{"name":"qwen2.5:0.5b"}]})";
        } else if (path == "/text") {
            response.setContentType("text/plain");
            response.send() << "Ollama is running";
        } else if (path == "/hang") {
            _state->release.tryWait(10000);
            response.send() << "{}";
        } else if (path == "/dribble") {
            // A head at once, then one byte of body at a time, far slower than any limit the test sets.
            response.setChunkedTransferEncoding(true);
            auto& out = response.send();
            out << "[" << std::flush;
            for (int i = 0; i < 200 && out && !_state->stopping; ++i) {
                out << "1," << std::flush;
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            out << "1]";
        } else {
            response.setStatus(HTTPResponse::HTTP_NOT_FOUND);
            response.send() << R"({"error":"not found"})";
        }
    }

private:
    std::shared_ptr<ServerState> _state;  // a handler may outlive the test's server object
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
public:
    explicit Factory(std::shared_ptr<ServerState> state) : _state(std::move(state)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override { return new Handler(_state); }

private:
    std::shared_ptr<ServerState> _state;
};

class BackendFetchTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(BackendFetchTest);
    CPPUNIT_TEST(attachesTheCredentialAndParses);
    CPPUNIT_TEST(otherHeaderCarriesTheRawToken);
    CPPUNIT_TEST(basePathIsPrefixed);
    CPPUNIT_TEST(refusedCredentialIsNotRepeated);
    CPPUNIT_TEST(errorStatusKeepsAJsonBody);
    CPPUNIT_TEST(textIsNotJson);
    CPPUNIT_TEST(closedPortIsRefused);
    CPPUNIT_TEST(silentBackendTimesOut);
    CPPUNIT_TEST(slowBodyIsCutOff);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _state = std::make_shared<ServerState>();
        Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
        _port = socket.address().port();
        _server = std::make_unique<Poco::Net::HTTPServer>(new Factory(_state), socket, new Poco::Net::HTTPServerParams);
        _server->start();
    }

    void tearDown() override {
        _state->stopping = true;
        _state->release.set();
        _server->stopAll(true);
        _server.reset();
        _state.reset();
    }

    // What the server saw last, read under its lock.
    std::string seen(std::string ServerState::*field) const {
        std::lock_guard lock(_state->mutex);
        return (*_state).*field;
    }

    sluice::Backend backend(const std::string& token = kToken) const {
        sluice::Backend backend;
        backend.name = "test";
        backend.scheme = "http";
        backend.host = "127.0.0.1";
        backend.port = _port;
        backend.authToken = sluice::Secret(token);
        return backend;
    }

    void attachesTheCredentialAndParses() {
        const auto result = sluice::fetchJson(backend(), "/api/tags", std::chrono::seconds(5));
        CPPUNIT_ASSERT_MESSAGE(result.error, result.ok);
        CPPUNIT_ASSERT_EQUAL(200, result.status);
        CPPUNIT_ASSERT(result.error.empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, result.body["models"].size());
        CPPUNIT_ASSERT_EQUAL(std::string("Bearer ") + kToken, seen(&ServerState::lastAuthorization));

        const auto anonymous = sluice::fetchJson(backend(""), "/text", std::chrono::seconds(5));
        CPPUNIT_ASSERT(seen(&ServerState::lastAuthorization).empty());  // no token: no header at all
        CPPUNIT_ASSERT_EQUAL(200, anonymous.status);
    }

    void otherHeaderCarriesTheRawToken() {
        auto withApiKey = backend();
        withApiKey.authHeader = "x-api-key";
        const auto result = sluice::fetchJson(withApiKey, "/api/tags", std::chrono::seconds(5));
        CPPUNIT_ASSERT_MESSAGE(result.error, result.ok);
        CPPUNIT_ASSERT_EQUAL(kToken, seen(&ServerState::lastApiKey));
        CPPUNIT_ASSERT(seen(&ServerState::lastAuthorization).empty());
    }

    void basePathIsPrefixed() {
        auto openai = backend();
        openai.kind = sluice::BackendKind::OpenAI;
        openai.basePath = "/v1";
        const auto result = sluice::fetchJson(openai, "/models", std::chrono::seconds(5));
        CPPUNIT_ASSERT_MESSAGE(result.error, result.ok);
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/models"), seen(&ServerState::lastPath));
    }

    void refusedCredentialIsNotRepeated() {
        const std::string wrong = "wrong-token-456";
        const auto result = sluice::fetchJson(backend(wrong), "/api/tags", std::chrono::seconds(5));
        CPPUNIT_ASSERT(!result.ok);
        CPPUNIT_ASSERT_EQUAL(401, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/api/tags answered 401"), result.error);
        CPPUNIT_ASSERT(result.error.find(wrong) == std::string::npos);
    }

    void errorStatusKeepsAJsonBody() {
        const auto result = sluice::fetchJson(backend(), "/nowhere", std::chrono::seconds(5));
        CPPUNIT_ASSERT(!result.ok);
        CPPUNIT_ASSERT_EQUAL(404, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/nowhere answered 404"), result.error);
        CPPUNIT_ASSERT_EQUAL(std::string("not found"), result.body["error"].get<std::string>());
    }

    void textIsNotJson() {
        const auto result = sluice::fetchJson(backend(), "/text", std::chrono::seconds(5));
        CPPUNIT_ASSERT(!result.ok);
        CPPUNIT_ASSERT_EQUAL(200, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/text answered invalid JSON"), result.error);
        CPPUNIT_ASSERT(result.body.is_null());
    }

    void closedPortIsRefused() {
        auto closed = backend();
        {
            Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
            closed.port = socket.address().port();
        }
        const auto result = sluice::fetchJson(closed, "/api/tags", std::chrono::seconds(5));
        CPPUNIT_ASSERT(!result.ok);
        CPPUNIT_ASSERT_EQUAL(0, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/api/tags: connection refused"), result.error);
    }

    void silentBackendTimesOut() {
        const auto result = sluice::fetchJson(backend(), "/hang", std::chrono::milliseconds(200));
        CPPUNIT_ASSERT(!result.ok);
        CPPUNIT_ASSERT_EQUAL(0, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/hang: timed out (limit 200 ms)"), result.error);
    }

    void slowBodyIsCutOff() {
        // Each byte comes well within the limit; the whole answer would take ten seconds.
        const auto result = sluice::fetchJson(backend(), "/dribble", std::chrono::milliseconds(300));
        CPPUNIT_ASSERT(!result.ok);
        CPPUNIT_ASSERT_EQUAL(200, result.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/dribble: timed out (limit 300 ms)"), result.error);
    }

private:
    std::shared_ptr<ServerState> _state;
    std::unique_ptr<Poco::Net::HTTPServer> _server;
    std::uint16_t _port = 0;
};

CPPUNIT_TEST_SUITE_REGISTRATION(BackendFetchTest);

} // namespace
