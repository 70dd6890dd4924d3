// OllamaOpenAi: Ollama requests as OpenAI requests, and OpenAI whole answers
// as the Ollama answers the client asked for.
#include <cppunit/extensions/HelperMacros.h>

#include "translate/OllamaOpenAi.h"

namespace {

using nlohmann::json;
using sluice::RouteKind;
using namespace sluice::kernel;
using namespace std::chrono_literals;

json answerOf(OllamaCall call, const json& openAi, const std::string& model = "gpt-4o-mini") {
    const auto text = toOllamaAnswer(call, openAi, model, 1500ms);
    CPPUNIT_ASSERT_MESSAGE(openAi.dump(), text.has_value());
    return json::parse(*text);
}

// "2025-01-01T12:34:56.123456789Z"
bool isRfc3339Utc(const std::string& text) {
    if (text.size() != 30 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
        text[19] != '.' || text.back() != 'Z')
        return false;
    for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u, 11u, 12u, 14u, 15u, 17u, 18u, 20u, 28u})
        if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
    return true;
}

class OllamaOpenAiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(OllamaOpenAiTest);
    CPPUNIT_TEST(onlyCallsWithAnEquivalentAreTranslated);
    CPPUNIT_TEST(chatRequestKeepsMessagesAndMapsOptions);
    CPPUNIT_TEST(chatRequestWithoutStreamAsksForNoUsageOption);
    CPPUNIT_TEST(optionsWithoutAnEquivalentAreDropped);
    CPPUNIT_TEST(generateBecomesSystemAndUserMessages);
    CPPUNIT_TEST(formatBecomesResponseFormat);
    CPPUNIT_TEST(imagesBecomeDataUrlParts);
    CPPUNIT_TEST(toolsPassAndToolCallsPairWithTheirResults);
    CPPUNIT_TEST(embedRequests);
    CPPUNIT_TEST(chatAnswerIsOllamaShaped);
    CPPUNIT_TEST(generateAnswerCarriesResponse);
    CPPUNIT_TEST(toolCallAnswerHasObjectArguments);
    CPPUNIT_TEST(doneReasons);
    CPPUNIT_TEST(whatIsNotAnAnswerIsRefused);
    CPPUNIT_TEST(embedAnswersKeepTheProvidersOrder);
    CPPUNIT_TEST_SUITE_END();

public:
    void onlyCallsWithAnEquivalentAreTranslated() {
        CPPUNIT_ASSERT(translatableCall(RouteKind::OllamaChat) == OllamaCall::Chat);
        CPPUNIT_ASSERT(translatableCall(RouteKind::OllamaGenerate) == OllamaCall::Generate);
        CPPUNIT_ASSERT(translatableCall(RouteKind::OllamaEmbed) == OllamaCall::Embed);
        CPPUNIT_ASSERT(translatableCall(RouteKind::OllamaEmbeddings) == OllamaCall::Embeddings);
        for (auto kind : {RouteKind::OllamaShow, RouteKind::OllamaTags, RouteKind::OpenAIChat, RouteKind::Management})
            CPPUNIT_ASSERT(!translatableCall(kind));
        CPPUNIT_ASSERT_EQUAL(std::string("/chat/completions"), std::string(openAiPath(OllamaCall::Chat)));
        CPPUNIT_ASSERT_EQUAL(std::string("/chat/completions"), std::string(openAiPath(OllamaCall::Generate)));
        CPPUNIT_ASSERT_EQUAL(std::string("/embeddings"), std::string(openAiPath(OllamaCall::Embed)));
        CPPUNIT_ASSERT_EQUAL(std::string("/embeddings"), std::string(openAiPath(OllamaCall::Embeddings)));
    }

    void chatRequestKeepsMessagesAndMapsOptions() {
        const auto ollama = json::parse(R"({
            "model": "cloud-model", "stream": true, "keep_alive": "5m", "think": true,
            "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"},
                         {"role": "assistant", "content": "Hello", "thinking": "hmm"}, {"role": "user", "content": "Again"}],
            "options": {"num_predict": 50, "temperature": 0.2, "top_p": 0.9, "stop": ["\n\n", "END"], "seed": 7,
                        "frequency_penalty": 0.5, "presence_penalty": 0.25}})");
        const auto expected = json::parse(R"({
            "model": "gpt-4o-mini", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"},
                         {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Again"}],
            "max_tokens": 50, "temperature": 0.2, "top_p": 0.9, "stop": ["\n\n", "END"], "seed": 7,
            "frequency_penalty": 0.5, "presence_penalty": 0.25})");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), toOpenAiRequest(OllamaCall::Chat, ollama, "gpt-4o-mini", true).dump());
    }

    void chatRequestWithoutStreamAsksForNoUsageOption() {
        const auto request = toOpenAiRequest(OllamaCall::Chat, json::parse(R"({"model":"m","messages":[]})"), "m", false);
        CPPUNIT_ASSERT_EQUAL(json(false), request["stream"]);
        CPPUNIT_ASSERT(!request.contains("stream_options"));
        CPPUNIT_ASSERT_EQUAL(json::array().dump(), request["messages"].dump());
    }

    void optionsWithoutAnEquivalentAreDropped() {
        const auto ollama = json::parse(R"({"model":"m","messages":[{"role":"user","content":"x"}],"context":[1,2],
            "options":{"num_predict":-1,"top_k":40,"num_ctx":8192,"repeat_penalty":1.1,"mirostat":1,"stop":"STOP"}})");
        const auto request = toOpenAiRequest(OllamaCall::Chat, ollama, "m", false);
        // num_predict -1 means "no limit": no max_tokens at all.
        const auto expected = json::parse(R"({"model":"m","stream":false,"messages":[{"role":"user","content":"x"}],"stop":["STOP"]})");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), request.dump());
        // OpenAI takes at most four stop sequences.
        const auto many = toOpenAiRequest(OllamaCall::Chat, json::parse(R"({"options":{"stop":["a","b","c","d","e"]}})"), "m", false);
        CPPUNIT_ASSERT_EQUAL(std::string(R"(["a","b","c","d"])"), many["stop"].dump());
    }

    void generateBecomesSystemAndUserMessages() {
        const auto ollama = json::parse(R"({"model":"m","prompt":"Why is the sky blue?","system":"Answer briefly.",
            "raw":true,"context":[1,2,3],"keep_alive":0,"suffix":"end","template":"{{ .Prompt }}","options":{"temperature":0}})");
        const auto expected = json::parse(R"({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},
            "messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":"Why is the sky blue?"}],
            "temperature":0})");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), toOpenAiRequest(OllamaCall::Generate, ollama, "gpt-4o-mini", true).dump());
        // Without a system prompt: the user message alone.
        const auto bare = toOpenAiRequest(OllamaCall::Generate, json::parse(R"({"prompt":"hi"})"), "m", false);
        CPPUNIT_ASSERT_EQUAL(std::string(R"([{"content":"hi","role":"user"}])"), bare["messages"].dump());
    }

    void formatBecomesResponseFormat() {
        const auto plain = toOpenAiRequest(OllamaCall::Chat, json::parse(R"({"format":"json"})"), "m", false);
        CPPUNIT_ASSERT_EQUAL(std::string(R"({"type":"json_object"})"), plain["response_format"].dump());

        const auto schema = json::parse(R"({"type":"object","properties":{"age":{"type":"integer"}},"required":["age"]})");
        const auto structured = toOpenAiRequest(OllamaCall::Chat, json{{"format", schema}}, "m", false);
        CPPUNIT_ASSERT_EQUAL(std::string("json_schema"), structured["response_format"]["type"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("response"), structured["response_format"]["json_schema"]["name"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(schema.dump(), structured["response_format"]["json_schema"]["schema"].dump());

        // A usable title names the schema; one OpenAI would refuse does not.
        auto titled = schema;
        titled["title"] = "Person_v2";
        CPPUNIT_ASSERT_EQUAL(std::string("Person_v2"),
                             toOpenAiRequest(OllamaCall::Generate, json{{"format", titled}}, "m", false)["response_format"]["json_schema"]["name"].get<std::string>());
        titled["title"] = "A person";
        CPPUNIT_ASSERT_EQUAL(std::string("response"),
                             toOpenAiRequest(OllamaCall::Chat, json{{"format", titled}}, "m", false)["response_format"]["json_schema"]["name"].get<std::string>());
        // No format, or an empty one: no response_format.
        CPPUNIT_ASSERT(!toOpenAiRequest(OllamaCall::Chat, json::parse(R"({"format":""})"), "m", false).contains("response_format"));
    }

    void imagesBecomeDataUrlParts() {
        const auto ollama = json::parse(R"({"messages":[{"role":"user","content":"What is this?",
            "images":["iVBORw0KGgoAAAANSUhEUg==","/9j/4AAQSkZJRg=="]}]})");
        const auto expected = json::parse(R"([{"role":"user","content":[
            {"type":"text","text":"What is this?"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="}},
            {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQSkZJRg=="}}]}])");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), toOpenAiRequest(OllamaCall::Chat, ollama, "m", false)["messages"].dump());
        // Generate's images go with its prompt.
        const auto generate = toOpenAiRequest(OllamaCall::Generate, json::parse(R"({"prompt":"","images":["R0lGODlh"]})"), "m", false);
        CPPUNIT_ASSERT_EQUAL(std::string(R"([{"image_url":{"url":"data:image/gif;base64,R0lGODlh"},"type":"image_url"}])"),
                             generate["messages"][0]["content"].dump());
    }

    void toolsPassAndToolCallsPairWithTheirResults() {
        const auto tools = json::parse(R"([{"type":"function","function":{"name":"get_weather","description":"Weather",
            "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])");
        json ollama = json::parse(R"({"messages":[
            {"role":"user","content":"Weather in Paris and the time?"},
            {"role":"assistant","content":"","tool_calls":[
                {"function":{"name":"get_time","arguments":{}}},
                {"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
            {"role":"tool","content":"22 degrees","tool_name":"get_weather"},
            {"role":"tool","content":"noon"}]})");
        ollama["tools"] = tools;
        const auto request = toOpenAiRequest(OllamaCall::Chat, ollama, "m", false);
        CPPUNIT_ASSERT_EQUAL(tools.dump(), request["tools"].dump());
        const auto& messages = request["messages"];
        const auto expectedCalls = json::parse(R"([
            {"id":"call_1_0","type":"function","function":{"name":"get_time","arguments":"{}"}},
            {"id":"call_1_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}])");
        CPPUNIT_ASSERT_EQUAL(expectedCalls.dump(), messages[1]["tool_calls"].dump());
        CPPUNIT_ASSERT(messages[1]["content"].is_null());
        // The named result answers its call; the unnamed one the call still waiting.
        CPPUNIT_ASSERT_EQUAL(std::string("call_1_1"), messages[2]["tool_call_id"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("call_1_0"), messages[3]["tool_call_id"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("noon"), messages[3]["content"].get<std::string>());

        // Ids the client kept from an earlier answer are used as they are.
        const auto withIds = toOpenAiRequest(OllamaCall::Chat, json::parse(R"({"messages":[
            {"role":"assistant","content":"","tool_calls":[{"id":"call_abc","function":{"name":"f","arguments":{"x":1}}}]},
            {"role":"tool","content":"1","tool_name":"f"}]})"), "m", false);
        CPPUNIT_ASSERT_EQUAL(std::string("call_abc"), withIds["messages"][0]["tool_calls"][0]["id"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("call_abc"), withIds["messages"][1]["tool_call_id"].get<std::string>());
    }

    void embedRequests() {
        const auto embed = toOpenAiRequest(OllamaCall::Embed,
                                           json::parse(R"({"model":"e","input":["a","b"],"truncate":true,"keep_alive":"1m","dimensions":4})"),
                                           "text-embedding-3-small", false);
        const auto expected = json::parse(R"({"model":"text-embedding-3-small","input":["a","b"],"encoding_format":"float","dimensions":4})");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), embed.dump());
        const auto legacy = toOpenAiRequest(OllamaCall::Embeddings, json::parse(R"({"model":"e","prompt":"hello"})"), "e", true);
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"model":"e","input":"hello","encoding_format":"float"})").dump(), legacy.dump());
    }

    void chatAnswerIsOllamaShaped() {
        const auto answer = answerOf(OllamaCall::Chat, json::parse(R"({"id":"chatcmpl-1","object":"chat.completion","created":1735689600,
            "model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there."},
            "finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("gpt-4o-mini"), answer["model"].get<std::string>());
        CPPUNIT_ASSERT(isRfc3339Utc(answer["created_at"].get<std::string>()));
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"role":"assistant","content":"Hello there."})").dump(), answer["message"].dump());
        CPPUNIT_ASSERT_EQUAL(json(true), answer["done"]);
        CPPUNIT_ASSERT_EQUAL(std::string("stop"), answer["done_reason"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(12, answer["prompt_eval_count"].get<int>());
        CPPUNIT_ASSERT_EQUAL(3, answer["eval_count"].get<int>());
        CPPUNIT_ASSERT_EQUAL(1'500'000'000LL, answer["total_duration"].get<long long>());
        CPPUNIT_ASSERT(!answer.contains("response"));
        CPPUNIT_ASSERT(!answer.contains("choices"));
        // A provider that reports no usage: no counts rather than made-up ones.
        const auto uncounted = answerOf(OllamaCall::Chat, json::parse(R"({"choices":[{"message":{"content":null},"finish_reason":"stop"}]})"));
        CPPUNIT_ASSERT(!uncounted.contains("eval_count"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), uncounted["message"]["content"].get<std::string>());
    }

    void generateAnswerCarriesResponse() {
        const auto answer = answerOf(OllamaCall::Generate, json::parse(R"({"choices":[{"index":0,"message":{"role":"assistant",
            "content":"Rayleigh scattering."},"finish_reason":"length"}],"usage":{"prompt_tokens":7,"completion_tokens":2}})"));
        CPPUNIT_ASSERT_EQUAL(std::string("Rayleigh scattering."), answer["response"].get<std::string>());
        CPPUNIT_ASSERT(!answer.contains("message"));
        CPPUNIT_ASSERT_EQUAL(std::string("length"), answer["done_reason"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(7, answer["prompt_eval_count"].get<int>());
        CPPUNIT_ASSERT_EQUAL(2, answer["eval_count"].get<int>());
    }

    void toolCallAnswerHasObjectArguments() {
        const auto answer = answerOf(OllamaCall::Chat, json::parse(R"({"choices":[{"index":0,"message":{"role":"assistant",
            "content":null,"tool_calls":[{"id":"call_9","type":"function","function":{"name":"get_weather",
            "arguments":"{\"city\":\"Paris\",\"days\":2}"}},{"id":"call_10","type":"function","function":{"name":"now","arguments":""}}]},
            "finish_reason":"tool_calls"}]})"));
        const auto expected = json::parse(R"([{"id":"call_9","function":{"name":"get_weather","arguments":{"city":"Paris","days":2}}},
                                              {"id":"call_10","function":{"name":"now","arguments":{}}}])");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), answer["message"]["tool_calls"].dump());
        CPPUNIT_ASSERT_EQUAL(std::string(""), answer["message"]["content"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("stop"), answer["done_reason"].get<std::string>());
    }

    void doneReasons() {
        CPPUNIT_ASSERT_EQUAL(std::string("stop"), ollamaDoneReason("stop"));
        CPPUNIT_ASSERT_EQUAL(std::string("length"), ollamaDoneReason("length"));
        CPPUNIT_ASSERT_EQUAL(std::string("stop"), ollamaDoneReason("tool_calls"));
        CPPUNIT_ASSERT_EQUAL(std::string("stop"), ollamaDoneReason("content_filter"));
        CPPUNIT_ASSERT_EQUAL(std::string("stop"), ollamaDoneReason(json()));
    }

    void whatIsNotAnAnswerIsRefused() {
        for (const char* text : {R"({})", R"({"choices":[]})", R"({"choices":[{"text":"legacy"}]})", R"([1])",
                                 R"({"error":{"message":"overloaded"}})", R"("text")"}) {
            CPPUNIT_ASSERT_MESSAGE(text, !toOllamaAnswer(OllamaCall::Chat, json::parse(text), "m", 0ns));
            CPPUNIT_ASSERT_MESSAGE(text, !toOllamaAnswer(OllamaCall::Embed, json::parse(text), "m", 0ns));
        }
        CPPUNIT_ASSERT(!toOllamaAnswer(OllamaCall::Chat, json::parse("{ cut", nullptr, false), "m", 0ns));
        CPPUNIT_ASSERT(!toOllamaAnswer(OllamaCall::Embeddings, json::parse(R"({"data":[]})"), "m", 0ns));
        CPPUNIT_ASSERT(!toOllamaAnswer(OllamaCall::Embed, json::parse(R"({"data":[{"embedding":"AAAA"}]})"), "m", 0ns));
    }

    void embedAnswersKeepTheProvidersOrder() {
        const auto openAi = json::parse(R"({"object":"list","model":"e","data":[
            {"object":"embedding","index":1,"embedding":[0.5,0.5]},{"object":"embedding","index":0,"embedding":[1.0,0.0]}],
            "usage":{"prompt_tokens":6,"total_tokens":6}})");
        const auto embed = answerOf(OllamaCall::Embed, openAi, "e");
        CPPUNIT_ASSERT_EQUAL(std::string("[[1.0,0.0],[0.5,0.5]]"), embed["embeddings"].dump());
        CPPUNIT_ASSERT_EQUAL(std::string("e"), embed["model"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(6, embed["prompt_eval_count"].get<int>());
        // Every field of Ollama's own answer is there: clients validate them.
        CPPUNIT_ASSERT_EQUAL(0, embed["load_duration"].get<int>());
        CPPUNIT_ASSERT(embed["total_duration"].is_number_integer());
        const auto unreported = answerOf(OllamaCall::Embed, json::parse(R"({"data":[{"index":0,"embedding":[1.0]}]})"), "e");
        CPPUNIT_ASSERT_EQUAL(0, unreported["prompt_eval_count"].get<int>());
        const auto legacy = answerOf(OllamaCall::Embeddings, openAi, "e");
        CPPUNIT_ASSERT_EQUAL(std::string(R"({"embedding":[1.0,0.0]})"), legacy.dump());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(OllamaOpenAiTest);

} // namespace
