// parseModelList: Ollama /api/tags and OpenAI /v1/models answers, junk skipped.
#include <cppunit/extensions/HelperMacros.h>

#include "PollDiscovery.h"

namespace {

using nlohmann::json;
using sluice::BackendKind;
using sluice::discovery::parseModelList;

std::vector<std::string> namesOf(const std::vector<sluice::ModelEntry>& models) {
    std::vector<std::string> names;
    for (const auto& model : models) names.push_back(model.name);
    return names;
}

class PollDiscoveryTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PollDiscoveryTest);
    CPPUNIT_TEST(parsesOllamaTags);
    CPPUNIT_TEST(parsesOpenAiData);
    CPPUNIT_TEST(skipsJunkEntries);
    CPPUNIT_TEST(wrongShapeGivesNothing);
    CPPUNIT_TEST_SUITE_END();

public:
    void parsesOllamaTags() {
        const auto answer = json::parse(R"({"models":[
            {"name":"llama3.2:latest","model":"llama3.2:latest","size":2019393189,"details":{"family":"llama"}},
            {"name":"qwen2:7b","model":"qwen2:7b"}]})");
        const auto models = parseModelList(answer, BackendKind::Ollama);
        CPPUNIT_ASSERT(std::vector<std::string>({"llama3.2:latest", "qwen2:7b"}) == namesOf(models));
        CPPUNIT_ASSERT(models[0].entry == answer["models"][0]);  // the backend's own entry is kept
    }

    void parsesOpenAiData() {
        const auto answer = json::parse(R"({"object":"list","data":[
            {"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"},
            {"id":"text-embedding-3-small","object":"model"}]})");
        const auto models = parseModelList(answer, BackendKind::OpenAI);
        CPPUNIT_ASSERT(std::vector<std::string>({"gpt-4o", "text-embedding-3-small"}) == namesOf(models));
        CPPUNIT_ASSERT_EQUAL(std::string("system"), models[0].entry["owned_by"].get<std::string>());
        // The same answer read as Ollama has no "models" list.
        CPPUNIT_ASSERT(parseModelList(answer, BackendKind::Ollama).empty());
    }

    void skipsJunkEntries() {
        const auto ollama = json::parse(R"({"models":[
            "llama3.2", null, 42, {}, {"name":""}, {"name":7}, {"size":1},
            {"model":"only-model:1b"}, {"name":"ok:latest"}]})");
        CPPUNIT_ASSERT(std::vector<std::string>({"only-model:1b", "ok:latest"}) ==
                       namesOf(parseModelList(ollama, BackendKind::Ollama)));
        const auto openai = json::parse(R"({"data":[{"name":"no-id"}, {"id":null}, {"id":""}, [], {"id":"good"}]})");
        CPPUNIT_ASSERT(std::vector<std::string>({"good"}) == namesOf(parseModelList(openai, BackendKind::OpenAI)));
    }

    void wrongShapeGivesNothing() {
        for (const char* text : {"null", "[]", "\"models\"", R"({"models":{"name":"x"}})", R"({"models":null})", "{}"}) {
            CPPUNIT_ASSERT_MESSAGE(text, parseModelList(json::parse(text), BackendKind::Ollama).empty());
            CPPUNIT_ASSERT_MESSAGE(text, parseModelList(json::parse(text), BackendKind::OpenAI).empty());
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PollDiscoveryTest);

} // namespace
