// classify: method and path to Route, once, at the front.
#include <cppunit/extensions/HelperMacros.h>

#include "front/RouteTable.h"

namespace {

using sluice::Protocol;
using sluice::RouteKind;
using sluice::kernel::classify;

struct Expected {
    const char* method;
    const char* path;
    RouteKind kind;
    Protocol protocol;
    bool forwarded;
    bool streamable;
};

class RouteTableTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RouteTableTest);
    CPPUNIT_TEST(classifiesEveryKnownRoute);
    CPPUNIT_TEST(capturesModelId);
    CPPUNIT_TEST(trailingSlashIsSameRoute);
    CPPUNIT_TEST(wrongMethodIsNotAllowed);
    CPPUNIT_TEST(headIsAllowedWhereGetIs);
    CPPUNIT_TEST(managementRoutes);
    CPPUNIT_TEST(unknownRouteTakesProtocolFromPrefix);
    CPPUNIT_TEST_SUITE_END();

public:
    void classifiesEveryKnownRoute() {
        const Expected table[] = {
            {"POST", "/api/chat", RouteKind::OllamaChat, Protocol::Ollama, true, true},
            {"POST", "/api/generate", RouteKind::OllamaGenerate, Protocol::Ollama, true, true},
            {"POST", "/api/embed", RouteKind::OllamaEmbed, Protocol::Ollama, true, false},
            {"POST", "/api/embeddings", RouteKind::OllamaEmbeddings, Protocol::Ollama, true, false},
            {"POST", "/api/show", RouteKind::OllamaShow, Protocol::Ollama, true, false},
            {"GET", "/api/tags", RouteKind::OllamaTags, Protocol::Ollama, false, false},
            {"GET", "/api/ps", RouteKind::OllamaPs, Protocol::Ollama, false, false},
            {"GET", "/api/version", RouteKind::OllamaVersion, Protocol::Ollama, false, false},
            {"POST", "/v1/chat/completions", RouteKind::OpenAIChat, Protocol::OpenAI, true, true},
            {"POST", "/v1/completions", RouteKind::OpenAICompletions, Protocol::OpenAI, true, true},
            {"POST", "/v1/embeddings", RouteKind::OpenAIEmbeddings, Protocol::OpenAI, true, false},
            {"GET", "/v1/models", RouteKind::OpenAIModels, Protocol::OpenAI, false, false},
            {"GET", "/v1/models/llama3.2", RouteKind::OpenAIModel, Protocol::OpenAI, false, false},
            {"GET", "/healthz", RouteKind::Healthz, Protocol::Sluice, false, false},
            {"GET", "/readyz", RouteKind::Readyz, Protocol::Sluice, false, false},
            {"GET", "/metrics", RouteKind::Metrics, Protocol::Sluice, false, false},
            {"GET", "/v1/health", RouteKind::Health, Protocol::OpenAI, false, false},
            {"GET", "/v1/aliases", RouteKind::Aliases, Protocol::OpenAI, false, false},
        };
        for (const auto& row : table) {
            const auto result = classify(row.method, row.path);
            const std::string what = std::string(row.method) + " " + row.path;
            CPPUNIT_ASSERT_MESSAGE(what, result.route.kind == row.kind);
            CPPUNIT_ASSERT_MESSAGE(what, result.route.protocol == row.protocol);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, row.forwarded, result.route.forwarded);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, row.streamable, result.route.streamable);
            CPPUNIT_ASSERT_MESSAGE(what, result.methodAllowed);
            CPPUNIT_ASSERT_MESSAGE(what, result.route.method == row.method);
            if (row.kind != RouteKind::OpenAIModel)
                CPPUNIT_ASSERT_MESSAGE(what, result.route.name == row.path);
        }
    }

    void capturesModelId() {
        auto result = classify("GET", "/v1/models/llama3.2:latest");
        CPPUNIT_ASSERT(result.route.kind == RouteKind::OpenAIModel);
        CPPUNIT_ASSERT_EQUAL(std::string("llama3.2:latest"), result.modelId);
        CPPUNIT_ASSERT(result.route.name == "/v1/models/{id}");
        result = classify("GET", "/v1/models/org/model-7b/");
        CPPUNIT_ASSERT_EQUAL(std::string("org/model-7b"), result.modelId);
        CPPUNIT_ASSERT(classify("GET", "/v1/models").modelId.empty());
    }

    void trailingSlashIsSameRoute() {
        CPPUNIT_ASSERT(classify("POST", "/api/chat/").route.kind == RouteKind::OllamaChat);
        CPPUNIT_ASSERT(classify("GET", "/v1/models/").route.kind == RouteKind::OpenAIModels);
        CPPUNIT_ASSERT(classify("GET", "/healthz/").route.kind == RouteKind::Healthz);
        // The root is a route of its own: Ollama's heartbeat.
        CPPUNIT_ASSERT(classify("GET", "/").route.kind == RouteKind::OllamaRoot);
        CPPUNIT_ASSERT(classify("HEAD", "/").methodAllowed);
    }

    void wrongMethodIsNotAllowed() {
        auto result = classify("GET", "/api/chat");
        CPPUNIT_ASSERT(result.route.kind == RouteKind::OllamaChat);
        CPPUNIT_ASSERT(!result.methodAllowed);
        CPPUNIT_ASSERT(!classify("POST", "/api/tags").methodAllowed);
        CPPUNIT_ASSERT(!classify("DELETE", "/v1/chat/completions").methodAllowed);
        result = classify("POST", "/v1/models/llama3.2");
        CPPUNIT_ASSERT(result.route.kind == RouteKind::OpenAIModel);
        CPPUNIT_ASSERT(!result.methodAllowed);
        CPPUNIT_ASSERT(!classify("HEAD", "/api/chat").methodAllowed);
    }

    void headIsAllowedWhereGetIs() {
        CPPUNIT_ASSERT(classify("HEAD", "/api/tags").methodAllowed);
        CPPUNIT_ASSERT(classify("HEAD", "/v1/models/x").methodAllowed);
    }

    void managementRoutes() {
        for (const char* path : {"/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete", "/api/blobs",
                                 "/api/blobs/sha256:x", "/api/pull/"}) {
            for (const char* method : {"POST", "DELETE", "HEAD"}) {
                const auto result = classify(method, path);
                CPPUNIT_ASSERT_MESSAGE(path, result.route.kind == RouteKind::Management);
                CPPUNIT_ASSERT_MESSAGE(path, result.route.protocol == Protocol::Ollama);
                CPPUNIT_ASSERT_MESSAGE(path, !result.route.forwarded);
            }
        }
        // Only the blobs prefix matches below it.
        CPPUNIT_ASSERT(classify("POST", "/api/pullx").route.kind == RouteKind::Unknown);
        CPPUNIT_ASSERT(classify("POST", "/api/pull/extra").route.kind == RouteKind::Unknown);
    }

    void unknownRouteTakesProtocolFromPrefix() {
        auto result = classify("POST", "/v1/files");
        CPPUNIT_ASSERT(result.route.kind == RouteKind::Unknown);
        CPPUNIT_ASSERT(result.route.protocol == Protocol::OpenAI);
        CPPUNIT_ASSERT(!result.route.forwarded);
        // Below the agents' doors, their own error shapes.
        CPPUNIT_ASSERT(classify("POST", "/v1/messages/count_tokens").route.protocol == Protocol::Anthropic);
        CPPUNIT_ASSERT(classify("GET", "/v1/responses/resp_1").route.protocol == Protocol::OpenAIResponses);
        result = classify("GET", "/api/nothing");
        CPPUNIT_ASSERT(result.route.kind == RouteKind::Unknown);
        CPPUNIT_ASSERT(result.route.protocol == Protocol::Ollama);
        CPPUNIT_ASSERT(classify("GET", "/favicon.ico").route.protocol == Protocol::Ollama);
        CPPUNIT_ASSERT(classify("GET", "/v1").route.protocol == Protocol::Ollama);
        CPPUNIT_ASSERT(classify("GET", "/v1/models/").route.kind == RouteKind::OpenAIModels);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RouteTableTest);

} // namespace
