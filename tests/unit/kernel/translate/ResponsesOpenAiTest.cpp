// ResponsesOpenAi: Responses requests checked and rewritten as Chat
// Completions requests, and chat completions as Response objects.
#include <cppunit/extensions/HelperMacros.h>

#include <utility>
#include <vector>

#include "translate/ResponsesOpenAi.h"

namespace {

using nlohmann::json;
using namespace sluice::kernel;

json chatFor(const std::string& request, bool stream = false) {
    return chatRequestForResponses(json::parse(request), "served-model", stream);
}

json answerOf(const json& completion, const json& request = json::parse(R"({"model":"m","input":"Hi"})")) {
    const auto text = responsesAnswerFor(completion, request, "gpt-4o-mini");
    CPPUNIT_ASSERT_MESSAGE(completion.dump(), text.has_value());
    return json::parse(*text);
}

json completion(const json& message, const std::string& finishReason = "stop") {
    return {{"id", "chatcmpl-1"},
            {"object", "chat.completion"},
            {"created", 1735689600},
            {"model", "gpt-4o-mini-2024-07-18"},
            {"choices", {{{"index", 0}, {"message", message}, {"finish_reason", finishReason}}}},
            // Parsed, as a backend's answer is: its counts are unsigned.
            {"usage", json::parse(R"({"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,
                "prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}})")}};
}

std::string problemOf(const std::string& body) {
    const auto problem = responsesRequestProblem(json::parse(body));
    return problem ? *problem : std::string("(none)");
}

class ResponsesOpenAiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ResponsesOpenAiTest);
    CPPUNIT_TEST(stringInputBecomesAUserMessageAfterTheInstructions);
    CPPUNIT_TEST(withoutStreamNoUsageOptionIsSent);
    CPPUNIT_TEST(messageItemsKeepTheirRolesAndContent);
    CPPUNIT_TEST(functionCallsJoinTheirTurnAndResultsFollow);
    CPPUNIT_TEST(functionToolsAreNestedAndHostedToolsDropped);
    CPPUNIT_TEST(textFormatBecomesResponseFormat);
    CPPUNIT_TEST(validRequestsHaveNoProblem);
    CPPUNIT_TEST(everyProblemIsNamed);
    CPPUNIT_TEST(previousResponseIdIsLeftToTheDialect);
    CPPUNIT_TEST(answerIsAResponseObject);
    CPPUNIT_TEST(answerEchoesTheRequestsSettings);
    CPPUNIT_TEST(reasoningAndToolCallsBecomeItems);
    CPPUNIT_TEST(aCutAnswerIsIncomplete);
    CPPUNIT_TEST(emptyAndRefusedAnswersStillHaveAMessage);
    CPPUNIT_TEST(whatIsNotACompletionIsRefused);
    CPPUNIT_TEST(idsCarryTheirKindsPrefix);
    CPPUNIT_TEST_SUITE_END();

public:
    void stringInputBecomesAUserMessageAfterTheInstructions() {
        const auto chat = chatFor(R"({
            "model": "gpt-4.1", "input": "Hi", "instructions": "Be terse.", "max_output_tokens": 50,
            "temperature": 0.2, "top_p": 0.9, "parallel_tool_calls": false, "user": "u-1",
            "metadata": {"k": "v"}, "store": true, "truncation": "auto", "include": ["reasoning.encrypted_content"],
            "service_tier": "flex", "reasoning": {"effort": "low", "summary": "auto"}})",
                                  true);
        const auto expected = json::parse(R"({
            "model": "served-model", "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}],
            "max_tokens": 50, "temperature": 0.2, "top_p": 0.9, "parallel_tool_calls": false, "user": "u-1",
            "reasoning_effort": "low"})");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), chat.dump());
    }

    void withoutStreamNoUsageOptionIsSent() {
        const auto chat = chatFor(R"({"model":"m","input":"Hi","instructions":null,"temperature":null})");
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"model":"served-model","stream":false,
            "messages":[{"role":"user","content":"Hi"}]})").dump(), chat.dump());
    }

    void messageItemsKeepTheirRolesAndContent() {
        const auto chat = chatFor(R"({"model":"m","input":[
            {"type":"message","role":"developer","content":"Use tools."},
            {"role":"system","content":[{"type":"input_text","text":"Sys"}]},
            {"role":"user","content":[{"type":"input_text","text":"Hello, "},{"type":"input_text","text":"there"}]},
            {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi!","annotations":[]}]},
            {"role":"assistant","content":[{"type":"refusal","refusal":"I can't."}]},
            {"role":"user","content":[{"type":"input_text","text":"What is this?"},
                {"type":"input_image","image_url":"data:image/png;base64,iVBOR","detail":"low"},
                {"type":"input_image","image_url":"https://example.com/cat.jpg"}]}]})");
        const auto expected = json::parse(R"([
            {"role":"system","content":"Use tools."},
            {"role":"system","content":"Sys"},
            {"role":"user","content":"Hello, there"},
            {"role":"assistant","content":"Hi!"},
            {"role":"assistant","content":"I can't."},
            {"role":"user","content":[{"type":"text","text":"What is this?"},
                {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR","detail":"low"}},
                {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}])");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), chat["messages"].dump());
    }

    void functionCallsJoinTheirTurnAndResultsFollow() {
        const auto chat = chatFor(R"({"model":"m","input":[
            {"role":"user","content":"Weather in Paris and Rome?"},
            {"type":"reasoning","id":"rs_1","summary":[],"encrypted_content":"opaque"},
            {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Checking."}]},
            {"type":"function_call","id":"fc_1","call_id":"call_1","name":"weather","arguments":"{\"city\":\"Paris\"}"},
            {"type":"reasoning","id":"rs_2","summary":[]},
            {"type":"function_call","call_id":"call_2","name":"weather","arguments":"{\"city\":\"Rome\"}","status":"completed"},
            {"role":"assistant","content":"One moment."},
            {"type":"function_call_output","call_id":"call_1","output":"18C"},
            {"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"21"},
                {"type":"input_image","image_url":"https://example.com/chart.png"},{"type":"output_text","text":"C"}]},
            {"type":"function_call","call_id":"call_3","name":"now","arguments":"{}"},
            {"type":"function_call_output","call_id":"call_3","output":"noon"}]})");
        const auto expected = json::parse(R"([
            {"role":"user","content":"Weather in Paris and Rome?"},
            {"role":"assistant","content":"Checking.\nOne moment.","tool_calls":[
                {"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}},
                {"id":"call_2","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Rome\"}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"18C"},
            {"role":"tool","tool_call_id":"call_2","content":"21C"},
            {"role":"assistant","content":null,"tool_calls":[
                {"id":"call_3","type":"function","function":{"name":"now","arguments":"{}"}}]},
            {"role":"tool","tool_call_id":"call_3","content":"noon"}])");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), chat["messages"].dump());
    }

    void functionToolsAreNestedAndHostedToolsDropped() {
        const auto chat = chatFor(R"({"model":"m","input":"Hi","tool_choice":{"type":"function","name":"weather"},"tools":[
            {"type":"function","name":"weather","description":"Weather now","strict":true,
             "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
            {"type":"web_search"},{"type":"file_search","vector_store_ids":["vs_1"]},
            {"type":"function","name":"now","description":null,"parameters":null}]})");
        const auto expected = json::parse(R"([
            {"type":"function","function":{"name":"weather","description":"Weather now","strict":true,
             "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
            {"type":"function","function":{"name":"now"}}])");
        CPPUNIT_ASSERT_EQUAL(expected.dump(), chat["tools"].dump());
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"type":"function","function":{"name":"weather"}})").dump(), chat["tool_choice"].dump());

        const auto required = chatFor(R"({"model":"m","input":"Hi","tool_choice":"required","tools":[{"type":"function","name":"f"}]})");
        CPPUNIT_ASSERT_EQUAL(json("required"), required["tool_choice"]);
        // Only hosted tools: nothing is left to offer or to choose from.
        const auto hostedOnly = chatFor(R"({"model":"m","input":"Hi","tool_choice":"required",
            "tools":[{"type":"web_search"},{"type":"mcp","server_label":"x"}]})");
        CPPUNIT_ASSERT(!hostedOnly.contains("tools"));
        CPPUNIT_ASSERT(!hostedOnly.contains("tool_choice"));
    }

    void textFormatBecomesResponseFormat() {
        const auto schema = chatFor(R"({"model":"m","input":"Hi","text":{"format":{"type":"json_schema","name":"answer",
            "description":"The answer","strict":true,"schema":{"type":"object","properties":{"a":{"type":"string"}}}}}})");
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object",
            "properties":{"a":{"type":"string"}}},"strict":true,"description":"The answer"}})").dump(), schema["response_format"].dump());
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"type":"json_object"})"),
                             chatFor(R"({"model":"m","input":"Hi","text":{"format":{"type":"json_object"}}})")["response_format"]);
        CPPUNIT_ASSERT(!chatFor(R"({"model":"m","input":"Hi","text":{"format":{"type":"text"}}})").contains("response_format"));
        CPPUNIT_ASSERT(!chatFor(R"({"model":"m","input":"Hi","text":{"verbosity":"low"}})").contains("response_format"));
    }

    void validRequestsHaveNoProblem() {
        for (const char* body : {
                 R"({"model":"m","input":"Hi"})",
                 R"({"model":"m","input":[]})",
                 R"({"model":"m","input":[{"role":"user","content":"Hi"}],"instructions":null,"tools":null,"previous_response_id":null})",
                 R"({"model":"m","input":[{"type":"reasoning","summary":[]},{"type":"function_call","call_id":"c","name":"f","arguments":"{}"},
                     {"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"ok"}]}]})",
                 R"({"model":"m","input":"Hi","tools":[{"type":"web_search"}],"tool_choice":"none","max_output_tokens":1,
                     "temperature":1,"top_p":0.5,"stream":true,"parallel_tool_calls":true,"metadata":{},"reasoning":{"effort":"high"},
                     "text":{"format":{"type":"json_schema","name":"n","schema":{}}}})"})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, std::string("(none)"), problemOf(body));
    }

    void everyProblemIsNamed() {
        const std::vector<std::pair<std::string, std::string>> cases{
            {R"([1])", "the request body must be a JSON object"},
            {R"({"input":"Hi"})", "model is required and must be a string"},
            {R"({"model":7,"input":"Hi"})", "model is required and must be a string"},
            {R"({"model":"m"})", "input is required and must be a string or an array of items"},
            {R"({"model":"m","input":{"role":"user"}})", "input is required and must be a string or an array of items"},
            {R"({"model":"m","input":["Hi"]})", "input[0] must be an object"},
            {R"({"model":"m","input":[{"role":"user","content":"a"},{"role":"user","content":"b"},{"type":"foo"}]})",
             "input[2]: unknown item type 'foo'"},
            {R"({"model":"m","input":[{"content":"Hi"}]})", "input[0] has no type"},
            {R"({"model":"m","input":[{"type":"item_reference","id":"msg_1"}]})",
             "input[0]: item_reference needs stored responses, which this gateway does not keep; send the items themselves (with store: false)"},
            {R"({"model":"m","input":[{"role":"tool","content":"x"}]})",
             R"(input[0]: role must be user, assistant, system or developer, not "tool")"},
            {R"({"model":"m","input":[{"type":"message","content":"x"}]})",
             "input[0]: role must be user, assistant, system or developer, not null"},
            {R"({"model":"m","input":[{"role":"user"}]})", "input[0].content must be a string or an array of content parts"},
            {R"({"model":"m","input":[{"role":"user","content":7}]})", "input[0].content must be a string or an array of content parts"},
            {R"({"model":"m","input":[{"role":"user","content":["x"]}]})", "input[0].content[0] must be an object"},
            {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_audio"}]}]})",
             "input[0].content[0]: unknown content type 'input_audio'"},
            {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":1}]}]})", "input[0].content[0].text must be a string"},
            {R"({"model":"m","input":[{"role":"assistant","content":[{"type":"refusal"}]}]})", "input[0].content[0].refusal must be a string"},
            {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]})",
             "input[0].content[0]: input_file is not supported"},
            {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]})",
             "input[0].content[0]: an input_image by file_id is not supported (this gateway keeps no files); send image_url"},
            {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_image"}]}]})",
             "input[0].content[0].image_url must be a string (a data: or http(s): URL)"},
            {R"({"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"u","detail":1}]}]})",
             "input[0].content[0].detail must be a string"},
            {R"({"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]})", "input[0].call_id must be a string"},
            {R"({"model":"m","input":[{"type":"function_call","call_id":"c","arguments":"{}"}]})", "input[0].name must be a string"},
            {R"({"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":{}}]})", "input[0].arguments must be a string"},
            {R"({"model":"m","input":[{"type":"function_call_output","output":"x"}]})", "input[0].call_id must be a string"},
            {R"({"model":"m","input":[{"type":"function_call_output","call_id":"c","output":3}]})",
             "input[0].output must be a string or an array of content parts"},
            {R"({"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_file"}]}]})",
             "input[0].output[0]: input_file is not supported"},
            {R"({"model":"m","input":"Hi","instructions":["x"]})", "instructions must be a string"},
            {R"({"model":"m","input":"Hi","previous_response_id":5})", "previous_response_id must be a string"},
            {R"({"model":"m","input":"Hi","temperature":"hot"})", "temperature must be a number"},
            {R"({"model":"m","input":"Hi","top_p":true})", "top_p must be a number"},
            {R"({"model":"m","input":"Hi","stream":"yes"})", "stream must be a boolean"},
            {R"({"model":"m","input":"Hi","parallel_tool_calls":1})", "parallel_tool_calls must be a boolean"},
            {R"({"model":"m","input":"Hi","reasoning":"high"})", "reasoning must be an object"},
            {R"({"model":"m","input":"Hi","reasoning":{"effort":3}})", "reasoning.effort must be a string"},
            {R"({"model":"m","input":"Hi","metadata":[]})", "metadata must be an object"},
            {R"({"model":"m","input":"Hi","tools":{}})", "tools must be an array"},
            {R"({"model":"m","input":"Hi","tools":["f"]})", "tools[0] must be an object"},
            {R"({"model":"m","input":"Hi","tools":[{"name":"f"}]})", "tools[0].type must be a string"},
            {R"({"model":"m","input":"Hi","tools":[{"type":"function"}]})", "tools[0].name must be a string"},
            {R"({"model":"m","input":"Hi","tool_choice":"always"})",
             R"(tool_choice must be "auto", "none", "required" or {"type":"function","name":"…"})"},
            {R"({"model":"m","input":"Hi","tool_choice":{"type":"web_search"}})",
             R"(tool_choice must be "auto", "none", "required" or {"type":"function","name":"…"})"},
            {R"({"model":"m","input":"Hi","max_output_tokens":0})", "max_output_tokens must be a positive integer"},
            {R"({"model":"m","input":"Hi","max_output_tokens":-5})", "max_output_tokens must be a positive integer"},
            {R"({"model":"m","input":"Hi","max_output_tokens":1.5})", "max_output_tokens must be a positive integer"},
            {R"({"model":"m","input":"Hi","text":"json"})", "text must be an object"},
            {R"({"model":"m","input":"Hi","text":{"format":"json"}})", "text.format must be an object"},
            {R"({"model":"m","input":"Hi","text":{"format":{"type":"yaml"}}})", "text.format.type must be text, json_object or json_schema"},
            {R"({"model":"m","input":"Hi","text":{"format":{"type":"json_schema","schema":{}}}})",
             "text.format.name must be a string for json_schema"},
            {R"({"model":"m","input":"Hi","text":{"format":{"type":"json_schema","name":"n","schema":[]}}})",
             "text.format.schema must be an object for json_schema"},
        };
        for (const auto& [body, problem] : cases) CPPUNIT_ASSERT_EQUAL_MESSAGE(body, problem, problemOf(body));
    }

    void previousResponseIdIsLeftToTheDialect() {
        const auto body = json::parse(R"({"model":"m","input":"Again","previous_response_id":"resp_1"})");
        CPPUNIT_ASSERT(!responsesRequestProblem(body));
        CPPUNIT_ASSERT(continuesPreviousResponse(body));
        CPPUNIT_ASSERT(!continuesPreviousResponse(json::parse(R"({"model":"m","input":"Hi"})")));
        CPPUNIT_ASSERT(!continuesPreviousResponse(json::parse(R"({"model":"m","input":"Hi","previous_response_id":""})")));
        CPPUNIT_ASSERT(!continuesPreviousResponse(json::parse(R"({"model":"m","input":"Hi","previous_response_id":null})")));
        CPPUNIT_ASSERT(!continuesPreviousResponse(json::parse("[]")));
    }

    void answerIsAResponseObject() {
        const auto answer = answerOf(completion({{"role", "assistant"}, {"content", "Hello!"}}));
        CPPUNIT_ASSERT(answer["id"].get<std::string>().starts_with("resp_"));
        CPPUNIT_ASSERT_EQUAL(json("response"), answer["object"]);
        CPPUNIT_ASSERT_EQUAL(json(1735689600), answer["created_at"]);
        CPPUNIT_ASSERT_EQUAL(json("completed"), answer["status"]);
        CPPUNIT_ASSERT(answer["completed_at"].is_number_integer());
        CPPUNIT_ASSERT_EQUAL(json("gpt-4o-mini"), answer["model"]);
        const auto defaults = json::parse(R"({"background":false,"error":null,"incomplete_details":null,"instructions":null,
            "max_output_tokens":null,"max_tool_calls":null,"parallel_tool_calls":true,"previous_response_id":null,
            "reasoning":{"effort":null,"summary":null},"service_tier":"default","store":false,"temperature":1.0,
            "text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_logprobs":0,"top_p":1.0,
            "truncation":"disabled","user":null,"metadata":{}})");
        for (const auto& [key, value] : defaults.items()) CPPUNIT_ASSERT_EQUAL_MESSAGE(key, value, answer[key]);

        CPPUNIT_ASSERT_EQUAL(std::size_t(1), answer["output"].size());
        const auto& message = answer["output"][0];
        CPPUNIT_ASSERT(message["id"].get<std::string>().starts_with("msg_"));
        auto withoutId = message;
        withoutId.erase("id");
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"type":"message","status":"completed","role":"assistant",
            "content":[{"type":"output_text","text":"Hello!","annotations":[],"logprobs":[]}]})"), withoutId);
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"input_tokens":12,"input_tokens_details":{"cached_tokens":4},"output_tokens":5,
            "output_tokens_details":{"reasoning_tokens":2},"total_tokens":17})"), answer["usage"]);
    }

    void answerEchoesTheRequestsSettings() {
        const auto request = json::parse(R"({"model":"m","input":"Hi","instructions":"Be terse.","max_output_tokens":64,
            "temperature":0.3,"top_p":0.8,"parallel_tool_calls":false,"tool_choice":"required","user":"u-1","metadata":{"k":"v"},
            "truncation":"auto","reasoning":{"effort":"low"},"text":{"format":{"type":"json_object"}},
            "tools":[{"type":"function","name":"f","parameters":{}},{"type":"web_search"}]})");
        auto bare = completion({{"role", "assistant"}, {"content", "{}"}});
        bare.erase("usage");
        bare.erase("created");
        const auto answer = answerOf(bare, request);
        const auto echoed = json::parse(R"({"instructions":"Be terse.","max_output_tokens":64,"temperature":0.3,"top_p":0.8,
            "parallel_tool_calls":false,"tool_choice":"required","user":"u-1","metadata":{"k":"v"},"truncation":"auto",
            "reasoning":{"effort":"low","summary":null},"text":{"format":{"type":"json_object"}},
            "tools":[{"type":"function","name":"f","parameters":{}}],"usage":null})");
        for (const auto& [key, value] : echoed.items()) CPPUNIT_ASSERT_EQUAL_MESSAGE(key, value, answer[key]);
        CPPUNIT_ASSERT(answer["created_at"].get<std::int64_t>() > 1735689600);
    }

    void reasoningAndToolCallsBecomeItems() {
        const auto answer = answerOf(completion(json::parse(R"({"role":"assistant","content":null,"reasoning_content":"Think.",
            "tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}},
                          {"id":"call_2","type":"function","function":{"name":"now","arguments":{}}}]})"), "tool_calls"));
        const auto& output = answer["output"];
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), output.size());
        CPPUNIT_ASSERT(output[0]["id"].get<std::string>().starts_with("rs_"));
        CPPUNIT_ASSERT_EQUAL(json("reasoning"), output[0]["type"]);
        CPPUNIT_ASSERT_EQUAL(json::parse(R"([{"type":"summary_text","text":"Think."}])"), output[0]["summary"]);
        const std::vector<std::pair<std::string, std::string>> calls{{"call_1", R"({"city":"Paris"})"}, {"call_2", "{}"}};
        for (std::size_t i = 0; i < calls.size(); ++i) {
            auto call = output[i + 1];
            CPPUNIT_ASSERT(call["id"].get<std::string>().starts_with("fc_"));
            call.erase("id");
            const json expected = {{"type", "function_call"}, {"status", "completed"}, {"arguments", calls[i].second},
                                   {"call_id", calls[i].first}, {"name", i == 0 ? "weather" : "now"}};
            CPPUNIT_ASSERT_EQUAL(expected, call);
        }
        CPPUNIT_ASSERT_EQUAL(json("completed"), answer["status"]);

        // Ollama names it "reasoning"; text with calls keeps its message before them.
        const auto ollama = answerOf(completion(json::parse(R"({"role":"assistant","content":"Let me check.","reasoning":"Hmm.",
            "tool_calls":[{"id":"call_9","type":"function","function":{"name":"f","arguments":"{}"}}]})"), "tool_calls"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), ollama["output"].size());
        CPPUNIT_ASSERT_EQUAL(json("Hmm."), ollama["output"][0]["summary"][0]["text"]);
        CPPUNIT_ASSERT_EQUAL(json("Let me check."), ollama["output"][1]["content"][0]["text"]);
        CPPUNIT_ASSERT_EQUAL(json("call_9"), ollama["output"][2]["call_id"]);
    }

    void aCutAnswerIsIncomplete() {
        const auto cut = answerOf(completion({{"role", "assistant"}, {"content", "Once upon"}}, "length"));
        CPPUNIT_ASSERT_EQUAL(json("incomplete"), cut["status"]);
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"reason":"max_output_tokens"})"), cut["incomplete_details"]);
        CPPUNIT_ASSERT_EQUAL(json("incomplete"), cut["output"][0]["status"]);
        CPPUNIT_ASSERT_EQUAL(json("Once upon"), cut["output"][0]["content"][0]["text"]);
        const auto filtered = answerOf(completion({{"role", "assistant"}, {"content", ""}}, "content_filter"));
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"reason":"content_filter"})"), filtered["incomplete_details"]);
        CPPUNIT_ASSERT(!incompleteReason("stop"));
        CPPUNIT_ASSERT(!incompleteReason("tool_calls"));
    }

    void emptyAndRefusedAnswersStillHaveAMessage() {
        const auto empty = answerOf(completion({{"role", "assistant"}, {"content", nullptr}}));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), empty["output"].size());
        CPPUNIT_ASSERT_EQUAL(json::parse(R"([{"type":"output_text","text":"","annotations":[],"logprobs":[]}])"), empty["output"][0]["content"]);
        const auto refused = answerOf(completion({{"role", "assistant"}, {"content", nullptr}, {"refusal", "I can't help."}}));
        CPPUNIT_ASSERT_EQUAL(json::parse(R"([{"type":"refusal","refusal":"I can't help."}])"), refused["output"][0]["content"]);
    }

    void whatIsNotACompletionIsRefused() {
        const auto request = json::parse(R"({"model":"m","input":"Hi"})");
        for (const char* notAnAnswer : {R"([])", R"({"error":{"message":"overloaded"}})", R"({"choices":[]})",
                                        R"({"choices":[3]})", R"({"choices":[{"index":0}]})", R"({"choices":[{"message":"hi"}]})"})
            CPPUNIT_ASSERT_MESSAGE(notAnAnswer, !responsesAnswerFor(json::parse(notAnAnswer), request, "m"));
    }

    void idsCarryTheirKindsPrefix() {
        const auto one = responsesId("resp_");
        const auto two = responsesId("resp_");
        CPPUNIT_ASSERT(one.starts_with("resp_") && one.size() > 30);
        CPPUNIT_ASSERT(one != two);
        CPPUNIT_ASSERT(responsesId("fc_").starts_with("fc_"));
        CPPUNIT_ASSERT(responsesUsage(json()).is_null());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ResponsesOpenAiTest);

} // namespace
