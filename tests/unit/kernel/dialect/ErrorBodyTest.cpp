// ErrorBody: error answers in Ollama's and OpenAI's own shapes.
#include <cppunit/extensions/HelperMacros.h>

#include <nlohmann/json.hpp>

#include "dialect/ErrorBody.h"

namespace {

using nlohmann::json;
using sluice::Protocol;
using sluice::kernel::errorBody;
using sluice::kernel::streamErrorFrame;

class ErrorBodyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ErrorBodyTest);
    CPPUNIT_TEST(ollamaShape);
    CPPUNIT_TEST(openAiShapeWithCode);
    CPPUNIT_TEST(openAiShapeWithoutCodeHasNull);
    CPPUNIT_TEST(openAiTypePerStatus);
    CPPUNIT_TEST(sluiceRoutesUseOllamaShape);
    CPPUNIT_TEST(ndjsonStreamFrame);
    CPPUNIT_TEST(sseStreamFrame);
    CPPUNIT_TEST(anthropicShapeAndTypes);
    CPPUNIT_TEST(agentsStreamFramesAreNamedEvents);
    CPPUNIT_TEST_SUITE_END();

public:
    void ollamaShape() {
        const auto body = json::parse(errorBody(Protocol::Ollama, 404, "model \"x\" not found", "model_not_found"));
        CPPUNIT_ASSERT(body == json({{"error", "model \"x\" not found"}}));
    }

    void openAiShapeWithCode() {
        const auto body = json::parse(errorBody(Protocol::OpenAI, 401, "bad key", "invalid_api_key"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, body.size());
        const auto& error = body.at("error");
        CPPUNIT_ASSERT_EQUAL(std::string("bad key"), error.at("message").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("authentication_error"), error.at("type").get<std::string>());
        CPPUNIT_ASSERT(error.at("param").is_null());
        CPPUNIT_ASSERT_EQUAL(std::string("invalid_api_key"), error.at("code").get<std::string>());
    }

    void openAiShapeWithoutCodeHasNull() {
        const auto body = json::parse(errorBody(Protocol::OpenAI, 400, "bad json"));
        CPPUNIT_ASSERT(body.at("error").contains("code"));
        CPPUNIT_ASSERT(body.at("error").at("code").is_null());
        CPPUNIT_ASSERT_EQUAL(std::string("invalid_request_error"), body["error"]["type"].get<std::string>());
    }

    void openAiTypePerStatus() {
        const std::pair<int, const char*> table[] = {
            {400, "invalid_request_error"}, {404, "invalid_request_error"}, {405, "invalid_request_error"},
            {413, "invalid_request_error"}, {401, "authentication_error"},  {403, "permission_error"},
            {429, "rate_limit_exceeded"},   {500, "api_error"},             {502, "api_error"},
            {503, "service_unavailable"},   {504, "api_error"},             {422, "invalid_request_error"},
        };
        for (const auto& [status, type] : table) {
            const auto body = json::parse(errorBody(Protocol::OpenAI, status, "m"));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(status), std::string(type), body["error"]["type"].get<std::string>());
        }
    }

    void sluiceRoutesUseOllamaShape() {
        const auto body = json::parse(errorBody(Protocol::Sluice, 503, "not ready"));
        CPPUNIT_ASSERT(body == json({{"error", "not ready"}}));
    }

    void ndjsonStreamFrame() {
        const auto frame = streamErrorFrame(Protocol::Ollama, "backend went away", "");
        CPPUNIT_ASSERT(frame.ends_with("\n"));
        CPPUNIT_ASSERT_EQUAL(frame.size() - 1, frame.find('\n'));  // exactly one line
        const auto body = json::parse(frame);
        CPPUNIT_ASSERT_EQUAL(std::string("backend went away"), body.at("error").get<std::string>());
    }

    void anthropicShapeAndTypes() {
        const auto body = json::parse(errorBody(Protocol::Anthropic, 400, "max_tokens: Field required", "invalid_request"));
        CPPUNIT_ASSERT(body == json({{"type", "error"}, {"error", {{"type", "invalid_request_error"}, {"message", "max_tokens: Field required"}}}}));
        const std::vector<std::pair<int, std::string>> types{{401, "authentication_error"}, {403, "permission_error"},
                                                             {404, "not_found_error"},      {413, "request_too_large"},
                                                             {429, "rate_limit_error"},     {500, "api_error"},
                                                             {502, "api_error"},            {503, "overloaded_error"},
                                                             {529, "overloaded_error"},     {405, "invalid_request_error"}};
        for (const auto& [status, type] : types)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(status), type,
                                         json::parse(errorBody(Protocol::Anthropic, status, "m"))["error"]["type"].get<std::string>());
        // The Responses API's errors are OpenAI's.
        CPPUNIT_ASSERT(json::parse(errorBody(Protocol::OpenAIResponses, 404, "m", "c")) == json::parse(errorBody(Protocol::OpenAI, 404, "m", "c")));
    }

    void agentsStreamFramesAreNamedEvents() {
        const auto anthropic = streamErrorFrame(Protocol::Anthropic, "backend went away", "upstream_stream_failed");
        CPPUNIT_ASSERT(anthropic.starts_with("event: error\ndata: "));
        CPPUNIT_ASSERT(anthropic.ends_with("\n\n"));
        const auto data = json::parse(anthropic.substr(anthropic.find("data: ") + 6));
        CPPUNIT_ASSERT_EQUAL(std::string("api_error"), data["error"]["type"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("backend went away"), data["error"]["message"].get<std::string>());
        const auto responses = streamErrorFrame(Protocol::OpenAIResponses, "backend went away", "upstream_stream_failed");
        CPPUNIT_ASSERT(responses.starts_with("event: error\ndata: "));
        const auto dataAt = responses.find("data: ") + 6;
        const auto event = json::parse(responses.substr(dataAt, responses.find("\n\n") - dataAt));
        CPPUNIT_ASSERT_EQUAL(std::string("error"), event["type"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("upstream_stream_failed"), event["code"].get<std::string>());
        // Then response.failed, which Codex and the AI SDK read.
        CPPUNIT_ASSERT(responses.find("\n\nevent: response.failed\ndata: ") != std::string::npos);
    }

    void sseStreamFrame() {
        const auto frame = streamErrorFrame(Protocol::OpenAI, "backend went away", "upstream_error");
        CPPUNIT_ASSERT(frame.starts_with("data: "));
        CPPUNIT_ASSERT(frame.ends_with("\n\n"));
        CPPUNIT_ASSERT_EQUAL(frame.size() - 2, frame.find('\n'));  // one event, one data line
        const auto body = json::parse(frame.substr(6));
        const auto& error = body.at("error");
        CPPUNIT_ASSERT(error.is_object());
        CPPUNIT_ASSERT_EQUAL(std::string("backend went away"), error.at("message").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("upstream_error"), error.at("code").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("api_error"), error.at("type").get<std::string>());
        const auto noCode = json::parse(streamErrorFrame(Protocol::OpenAI, "x", "").substr(6));
        CPPUNIT_ASSERT(noCode["error"]["code"].is_null());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ErrorBodyTest);

} // namespace
