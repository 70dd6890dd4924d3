// AnthropicOpenAi: Messages API requests checked as Anthropic checks them and
// rewritten as Chat Completions requests, and whole chat completions as
// Anthropic Messages.
#include <cppunit/extensions/HelperMacros.h>

#include <utility>
#include <vector>

#include "translate/AnthropicOpenAi.h"

namespace {

using nlohmann::json;
using namespace sluice::kernel;

// A valid request with `fields` ("\"key\":value,…") added and `messages` as its messages.
json requestWith(const std::string& fields, const std::string& messages = R"([{"role":"user","content":"Hi"}])") {
    return json::parse(R"({"model":"claude-sonnet-4-5","max_tokens":1024,"messages":)" + messages +
                       (fields.empty() ? "" : "," + fields) + "}");
}

// The messages a Chat Completions request gets for Anthropic `messages`.
json chatMessagesFor(const std::string& messages, const std::string& fields = "") {
    return chatRequestForMessages(requestWith(fields, messages), "gpt-4o-mini", false)["messages"];
}

json answerOf(const json& completion) {
    const auto text = messagesAnswerFor(completion, "claude-sonnet-4-5");
    CPPUNIT_ASSERT_MESSAGE(completion.dump(), text.has_value());
    return json::parse(*text);
}

bool isRandomId(const std::string& id, const std::string& prefix) {
    return id.size() == prefix.size() + 24 && id.starts_with(prefix) &&
           id.find_first_not_of("0123456789abcdef", prefix.size()) == std::string::npos;
}

class AnthropicOpenAiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AnthropicOpenAiTest);
    CPPUNIT_TEST(wellFormedRequestsPass);
    CPPUNIT_TEST(missingAndMistypedTopLevelFieldsAreNamed);
    CPPUNIT_TEST(badMessagesAndBlocksAreNamedByPath);
    CPPUNIT_TEST(badOptionalFieldsAreNamed);
    CPPUNIT_TEST(requestFieldsMapAndTheRestIsDropped);
    CPPUNIT_TEST(systemBlocksAreJoined);
    CPPUNIT_TEST(userBlocksBecomeTextAndImageParts);
    CPPUNIT_TEST(assistantToolUseBecomesToolCalls);
    CPPUNIT_TEST(toolResultsBecomeToolMessagesBeforeTheirUserContent);
    CPPUNIT_TEST(toolsMapAndServerToolsAreDropped);
    CPPUNIT_TEST(toolChoices);
    CPPUNIT_TEST(answerIsAnAnthropicMessage);
    CPPUNIT_TEST(answerCarriesReasoningTextAndToolUse);
    CPPUNIT_TEST(stopReasons);
    CPPUNIT_TEST(idsAreMadeWhenTheProviderSendsNone);
    CPPUNIT_TEST(whatIsNotACompletionIsRefused);
    CPPUNIT_TEST_SUITE_END();

public:
    void wellFormedRequestsPass() {
        CPPUNIT_ASSERT(!messagesRequestProblem(requestWith("")));
        // As Claude Code sends one: system blocks with cache_control, a tool round trip, thinking, a server tool.
        const auto full = requestWith(
            R"("system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}}],
               "stream":true,"temperature":1,"top_p":0.9,"top_k":40,"stop_sequences":["END"],"metadata":{"user_id":"u1"},
               "thinking":{"type":"enabled","budget_tokens":2048},"tool_choice":{"type":"auto"},
               "tools":[{"name":"Read","description":"Reads a file","input_schema":{"type":"object"}},
                        {"type":"web_search_20250305","name":"web_search","max_uses":5}])",
            R"([{"role":"user","content":[{"type":"text","text":"Read a.txt"},
                  {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
                  {"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]},
                {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"sig"},
                  {"type":"redacted_thinking","data":"xyz"},{"type":"tool_use","id":"toolu_1","name":"Read","input":{"path":"a.txt"}}]},
                {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","is_error":false,
                  "content":[{"type":"text","text":"hello"}]}]}])");
        const auto problem = messagesRequestProblem(full);
        CPPUNIT_ASSERT_MESSAGE(problem.value_or(""), !problem);
        // Optional fields may be null.
        CPPUNIT_ASSERT(!messagesRequestProblem(requestWith(R"("system":null,"temperature":null,"tools":null,"tool_choice":null)")));
    }

    void missingAndMistypedTopLevelFieldsAreNamed() {
        const std::vector<std::pair<std::string, std::string>> cases = {
            {R"([1])", "the request body must be a JSON object"},
            {R"({"max_tokens":1,"messages":[{"role":"user","content":"Hi"}]})", "model: Field required"},
            {R"({"model":5,"max_tokens":1,"messages":[{"role":"user","content":"Hi"}]})", "model: Input should be a valid string"},
            {R"({"model":"m","messages":[{"role":"user","content":"Hi"}]})", "max_tokens: Field required"},
            {R"({"model":"m","max_tokens":"9","messages":[]})", "max_tokens: Input should be a valid integer"},
            {R"({"model":"m","max_tokens":1.5,"messages":[]})", "max_tokens: Input should be a valid integer"},
            {R"({"model":"m","max_tokens":0,"messages":[]})", "max_tokens: Input should be greater than or equal to 1"},
            {R"({"model":"m","max_tokens":-3,"messages":[]})", "max_tokens: Input should be greater than or equal to 1"},
            {R"({"model":"m","max_tokens":1})", "messages: Field required"},
            {R"({"model":"m","max_tokens":1,"messages":{}})", "messages: Input should be a valid list"},
            {R"({"model":"m","max_tokens":1,"messages":[]})", "messages: at least one message is required"},
        };
        for (const auto& [body, expected] : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, expected, messagesRequestProblem(json::parse(body)).value_or("(none)"));
    }

    void badMessagesAndBlocksAreNamedByPath() {
        const auto image = [](const std::string& source) { return R"([{"role":"user","content":[{"type":"image","source":)" + source + "}]}]"; };
        const auto assistant = [](const std::string& block) { return R"([{"role":"user","content":"Hi"},{"role":"assistant","content":[)" + block + "]}]"; };
        const auto user = [](const std::string& block) { return R"([{"role":"user","content":[)" + block + "]}]"; };
        const std::vector<std::pair<std::string, std::string>> cases = {
            {R"([5])", "messages.0: Input should be a valid dictionary"},
            {R"([{"content":"Hi"}])", "messages.0.role: Field required"},
            {R"([{"role":"system","content":"Hi"}])", "messages.0.role: Input should be 'user' or 'assistant'"},
            {R"([{"role":"user"}])", "messages.0.content: Field required"},
            {R"([{"role":"user","content":7}])", "messages.0.content: Input should be a valid string or a list of content blocks"},
            {user(R"({"type":"text","text":"a"},"b")"), "messages.0.content.1: Input should be a valid dictionary"},
            {user(R"({"text":"a"})"), "messages.0.content.0.type: Field required"},
            {user(R"({"type":"text","text":"a"},{"type":"foo"})"), "messages.0.content.1: unknown content block type 'foo'"},
            {user(R"({"type":"text"})"), "messages.0.content.0.text: Field required"},
            {user(R"({"type":"text","text":3})"), "messages.0.content.0.text: Input should be a valid string"},
            {user(R"({"type":"image"})"), "messages.0.content.0.source: Field required"},
            {image(R"({"type":"file","file_id":"f"})"), "messages.0.content.0.source.type: Input should be 'base64' or 'url'"},
            {image(R"({"type":"base64","data":"AA=="})"), "messages.0.content.0.source.media_type: Field required"},
            {image(R"({"type":"base64","media_type":"image/bmp","data":"AA=="})"),
             "messages.0.content.0.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"},
            {image(R"({"type":"base64","media_type":"image/png"})"), "messages.0.content.0.source.data: Field required"},
            {image(R"({"type":"url"})"), "messages.0.content.0.source.url: Field required"},
            {user(R"({"type":"tool_use","id":"t","name":"f","input":{}})"),
             "messages.0.content.0: tool_use blocks are only allowed in assistant messages"},
            {assistant(R"({"type":"tool_use","name":"f","input":{}})"), "messages.1.content.0.id: Field required"},
            {assistant(R"({"type":"tool_use","id":"t","input":{}})"), "messages.1.content.0.name: Field required"},
            {assistant(R"({"type":"tool_use","id":"t","name":"f","input":"x"})"), "messages.1.content.0.input: Input should be a valid dictionary"},
            {assistant(R"({"type":"tool_result","tool_use_id":"t"})"), "messages.1.content.0: tool_result blocks are only allowed in user messages"},
            {user(R"({"type":"tool_result","content":"x"})"), "messages.0.content.0.tool_use_id: Field required"},
            {user(R"({"type":"tool_result","tool_use_id":"t","is_error":"yes"})"), "messages.0.content.0.is_error: Input should be a valid boolean"},
            {user(R"({"type":"tool_result","tool_use_id":"t","content":3})"),
             "messages.0.content.0.content: Input should be a valid string or a list of content blocks"},
            {user(R"({"type":"tool_result","tool_use_id":"t","content":[{"type":"document"}]})"),
             "messages.0.content.0.content.0: unsupported content block type 'document' in a tool result"},
            {user(R"({"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url"}}]})"),
             "messages.0.content.0.content.0.source.url: Field required"},
            {assistant(R"({"type":"thinking","signature":"s"})"), "messages.1.content.0.thinking: Field required"},
            {assistant(R"({"type":"redacted_thinking"})"), "messages.1.content.0.data: Field required"},
        };
        for (const auto& [messages, expected] : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(messages, expected, messagesRequestProblem(requestWith("", messages)).value_or("(none)"));
    }

    void badOptionalFieldsAreNamed() {
        const std::vector<std::pair<std::string, std::string>> cases = {
            {R"("system":3)", "system: Input should be a valid string or a list of text blocks"},
            {R"("system":["x"])", "system.0: Input should be a valid dictionary"},
            {R"("system":[{"type":"image"}])", "system.0.type: Input should be 'text'"},
            {R"("system":[{"type":"text"}])", "system.0.text: Field required"},
            {R"("stop_sequences":"END")", "stop_sequences: Input should be a valid list"},
            {R"("stop_sequences":["a",1])", "stop_sequences.1: Input should be a valid string"},
            {R"("temperature":"hot")", "temperature: Input should be a valid number"},
            {R"("top_p":[1])", "top_p: Input should be a valid number"},
            {R"("top_k":1.5)", "top_k: Input should be a valid integer"},
            {R"("stream":"yes")", "stream: Input should be a valid boolean"},
            {R"("metadata":"x")", "metadata: Input should be a valid dictionary"},
            {R"("metadata":{"user_id":3})", "metadata.user_id: Input should be a valid string"},
            {R"("thinking":true)", "thinking: Input should be a valid dictionary"},
            {R"("tools":{})", "tools: Input should be a valid list"},
            {R"("tools":["x"])", "tools.0: Input should be a valid dictionary"},
            {R"("tools":[{"input_schema":{}}])", "tools.0.name: Field required"},
            {R"("tools":[{"name":5,"input_schema":{}}])", "tools.0.name: Input should be a valid string"},
            {R"("tools":[{"name":"f","description":1,"input_schema":{}}])", "tools.0.description: Input should be a valid string"},
            {R"("tools":[{"name":"f"}])", "tools.0.input_schema: Field required"},
            {R"("tools":[{"type":"custom","name":"f","input_schema":[]}])", "tools.0.input_schema: Input should be a valid dictionary"},
            {R"("tool_choice":"auto")", "tool_choice: Input should be a valid dictionary"},
            {R"("tool_choice":{})", "tool_choice.type: Field required"},
            {R"("tool_choice":{"type":"some"})", "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"},
            {R"("tool_choice":{"type":"tool"})", "tool_choice.name: Field required"},
            {R"("tool_choice":{"type":"any","disable_parallel_tool_use":1})",
             "tool_choice.disable_parallel_tool_use: Input should be a valid boolean"},
        };
        for (const auto& [fields, expected] : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(fields, expected, messagesRequestProblem(requestWith(fields)).value_or("(none)"));
    }

    void requestFieldsMapAndTheRestIsDropped() {
        const auto request = requestWith(R"("system":"Be terse.","stream":true,"temperature":0.2,"top_p":0.9,"top_k":40,
            "stop_sequences":["a","b","c","d","e"],"metadata":{"user_id":"user-7"},"thinking":{"type":"enabled","budget_tokens":1024})");
        const auto expected = json::parse(R"({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},
            "messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hi"}],
            "max_tokens":1024,"temperature":0.2,"top_p":0.9,"stop":["a","b","c","d"],"user":"user-7"})");
        CPPUNIT_ASSERT_EQUAL(expected, chatRequestForMessages(request, "gpt-4o-mini", true));
        // Not streamed: no stream_options; no system, stops or metadata: none sent.
        const auto plain = json::parse(R"({"model":"m","stream":false,"messages":[{"role":"user","content":"Hi"}],"max_tokens":1024})");
        CPPUNIT_ASSERT_EQUAL(plain, chatRequestForMessages(requestWith(R"("metadata":{})"), "m", false));
    }

    void systemBlocksAreJoined() {
        const auto messages = chatMessagesFor(R"([{"role":"user","content":"Hi"}])",
                                              R"("system":[{"type":"text","text":"One."},{"type":"text","text":"Two.","cache_control":{"type":"ephemeral"}}])");
        CPPUNIT_ASSERT_EQUAL(json::parse(R"([{"role":"system","content":"One.\nTwo."},{"role":"user","content":"Hi"}])"), messages);
    }

    void userBlocksBecomeTextAndImageParts() {
        const auto mixed = chatMessagesFor(R"([{"role":"user","content":[{"type":"text","text":"What are these?"},
            {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
            {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}])");
        CPPUNIT_ASSERT_EQUAL(json::parse(R"([{"role":"user","content":[{"type":"text","text":"What are these?"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
            {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}])"), mixed);
        // Text blocks alone become one string.
        const auto text = chatMessagesFor(R"([{"role":"user","content":[{"type":"text","text":"<reminder/>"},{"type":"text","text":"Hi"}]}])");
        CPPUNIT_ASSERT_EQUAL(json::parse(R"([{"role":"user","content":"<reminder/>\nHi"}])"), text);
    }

    void assistantToolUseBecomesToolCalls() {
        const auto messages = chatMessagesFor(R"([{"role":"user","content":"Weather in Paris?"},
            {"role":"assistant","content":[{"type":"thinking","thinking":"need tools","signature":"s"},
                {"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}},
                {"type":"tool_use","id":"toolu_2","name":"now","input":{}}]},
            {"role":"assistant","content":[{"type":"redacted_thinking","data":"x"},{"type":"tool_use","id":"toolu_3","name":"now","input":{}}]},
            {"role":"assistant","content":[{"type":"thinking","thinking":"only thoughts","signature":"s"}]},
            {"role":"assistant","content":"Plain."}])");
        const auto expected = json::parse(R"([{"role":"user","content":"Weather in Paris?"},
            {"role":"assistant","content":"Checking.","tool_calls":[
                {"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                {"id":"toolu_2","type":"function","function":{"name":"now","arguments":"{}"}}]},
            {"role":"assistant","content":null,"tool_calls":[{"id":"toolu_3","type":"function","function":{"name":"now","arguments":"{}"}}]},
            {"role":"assistant","content":"Plain."}])");
        CPPUNIT_ASSERT_EQUAL(expected, messages);
    }

    void toolResultsBecomeToolMessagesBeforeTheirUserContent() {
        const auto messages = chatMessagesFor(R"([{"role":"user","content":[
            {"type":"text","text":"Here you go."},
            {"type":"tool_result","tool_use_id":"toolu_1","content":"22 degrees"},
            {"type":"tool_result","tool_use_id":"toolu_2","is_error":true,"content":[{"type":"text","text":"no clock"},{"type":"text","text":"at all"}]},
            {"type":"tool_result","tool_use_id":"toolu_3","content":[{"type":"text","text":"a screenshot"},
                {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}}]},
            {"type":"tool_result","tool_use_id":"toolu_4"}]},
            {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_5","content":"done"}]}])");
        const auto expected = json::parse(R"([
            {"role":"tool","tool_call_id":"toolu_1","content":"22 degrees"},
            {"role":"tool","tool_call_id":"toolu_2","content":"Error: no clock\nat all"},
            {"role":"tool","tool_call_id":"toolu_3","content":"a screenshot"},
            {"role":"tool","tool_call_id":"toolu_4","content":""},
            {"role":"user","content":[{"type":"text","text":"Here you go."},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/"}}]},
            {"role":"tool","tool_call_id":"toolu_5","content":"done"}])");
        CPPUNIT_ASSERT_EQUAL(expected, messages);
    }

    void toolsMapAndServerToolsAreDropped() {
        const auto request = chatRequestForMessages(requestWith(R"("tools":[
            {"name":"get_weather","description":"Weather now","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},
            {"type":"custom","name":"now","input_schema":{"type":"object"}},
            {"type":"web_search_20250305","name":"web_search","max_uses":3},{"type":"bash_20250124","name":"bash"}])"), "m", false);
        const auto expected = json::parse(R"([
            {"type":"function","function":{"name":"get_weather","description":"Weather now",
                "parameters":{"type":"object","properties":{"city":{"type":"string"}}}}},
            {"type":"function","function":{"name":"now","parameters":{"type":"object"}}}])");
        CPPUNIT_ASSERT_EQUAL(expected, request["tools"]);
    }

    void toolChoices() {
        const std::string tools = R"("tools":[{"name":"f","input_schema":{"type":"object"}}],)";
        const auto choiceFor = [&](const std::string& choice) {
            return chatRequestForMessages(requestWith(tools + R"("tool_choice":)" + choice), "m", false);
        };
        CPPUNIT_ASSERT_EQUAL(json("auto"), choiceFor(R"({"type":"auto"})")["tool_choice"]);
        CPPUNIT_ASSERT_EQUAL(json("required"), choiceFor(R"({"type":"any"})")["tool_choice"]);
        CPPUNIT_ASSERT_EQUAL(json("none"), choiceFor(R"({"type":"none"})")["tool_choice"]);
        const auto named = choiceFor(R"({"type":"tool","name":"f","disable_parallel_tool_use":true})");
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"type":"function","function":{"name":"f"}})"), named["tool_choice"]);
        CPPUNIT_ASSERT_EQUAL(json(false), named["parallel_tool_calls"]);
        CPPUNIT_ASSERT(!choiceFor(R"({"type":"auto","disable_parallel_tool_use":false})").contains("parallel_tool_calls"));
        // Only server tools: OpenAI would refuse a tool_choice without tools.
        const auto serverOnly = chatRequestForMessages(
            requestWith(R"("tools":[{"type":"web_search_20250305","name":"web_search"}],"tool_choice":{"type":"any"})"), "m", false);
        CPPUNIT_ASSERT(!serverOnly.contains("tools"));
        CPPUNIT_ASSERT(!serverOnly.contains("tool_choice"));
    }

    void answerIsAnAnthropicMessage() {
        const auto completion = json::parse(R"({"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18",
            "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there."},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}})");
        const auto text = messagesAnswerFor(completion, "claude-sonnet-4-5");
        CPPUNIT_ASSERT(text.has_value());
        // Fields in Anthropic's order.
        CPPUNIT_ASSERT_EQUAL(std::string(R"({"id":"msg_chatcmpl-1","type":"message","role":"assistant","model":"claude-sonnet-4-5",)"
                                         R"("content":[{"type":"text","text":"Hello there."}],"stop_reason":"end_turn","stop_sequence":null,)"
                                         R"("usage":{"input_tokens":12,"output_tokens":3}})"),
                             *text);
    }

    void answerCarriesReasoningTextAndToolUse() {
        const auto answer = answerOf(json::parse(R"({"id":"c","choices":[{"index":0,"message":{"role":"assistant",
            "reasoning_content":"The user wants weather.","content":"Let me check.","tool_calls":[
                {"id":"call_9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"days\":2}"}},
                {"id":"call_10","type":"function","function":{"name":"now","arguments":""}},
                {"id":"call_11","type":"function","function":{"name":"broken","arguments":"{\"cut"}},
                {"id":"call_12","type":"function","function":{"name":"listed","arguments":"[1,2]"}}]},
            "finish_reason":"tool_calls"}]})"));
        const auto expected = json::parse(R"([
            {"type":"thinking","thinking":"The user wants weather.","signature":""},
            {"type":"text","text":"Let me check."},
            {"type":"tool_use","id":"call_9","name":"get_weather","input":{"city":"Paris","days":2}},
            {"type":"tool_use","id":"call_10","name":"now","input":{}},
            {"type":"tool_use","id":"call_11","name":"broken","input":{}},
            {"type":"tool_use","id":"call_12","name":"listed","input":{}}])");
        CPPUNIT_ASSERT_EQUAL(expected, answer["content"]);
        CPPUNIT_ASSERT_EQUAL(json("tool_use"), answer["stop_reason"]);
        // No usage reported: zero counts. Ollama's "reasoning", and no content: a thinking block alone.
        const auto ollama = answerOf(json::parse(R"({"choices":[{"message":{"content":"","reasoning":"hmm"},"finish_reason":"length"}]})"));
        CPPUNIT_ASSERT_EQUAL(json::parse(R"([{"type":"thinking","thinking":"hmm","signature":""}])"), ollama["content"]);
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"input_tokens":0,"output_tokens":0})"), ollama["usage"]);
        CPPUNIT_ASSERT_EQUAL(json("max_tokens"), ollama["stop_reason"]);
        CPPUNIT_ASSERT_EQUAL(json::array(), answerOf(json::parse(R"({"choices":[{"message":{"content":null}}]})"))["content"]);
    }

    void stopReasons() {
        const std::vector<std::pair<json, std::string>> cases = {
            {"stop", "end_turn"},   {"length", "max_tokens"},     {"tool_calls", "tool_use"}, {"function_call", "tool_use"},
            {"content_filter", "refusal"}, {"something_new", "end_turn"}, {json(), "end_turn"}};
        for (const auto& [finish, expected] : cases) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(finish.dump(), expected, anthropicStopReason(finish, false));
            const auto answer = answerOf(json{{"choices", {{{"message", {{"content", "x"}}}, {"finish_reason", finish}}}}});
            CPPUNIT_ASSERT_EQUAL_MESSAGE(finish.dump(), json(expected), answer["stop_reason"]);
        }
        // A turn that made tool calls ended to run them, unless it was cut short.
        CPPUNIT_ASSERT_EQUAL(std::string("tool_use"), anthropicStopReason("stop", true));
        CPPUNIT_ASSERT_EQUAL(std::string("max_tokens"), anthropicStopReason("length", true));
    }

    void idsAreMadeWhenTheProviderSendsNone() {
        const auto answer = answerOf(json::parse(R"({"choices":[{"message":{"content":null,"tool_calls":[
            {"type":"function","function":{"name":"now","arguments":"{}"}}]},"finish_reason":"tool_calls"}]})"));
        CPPUNIT_ASSERT_MESSAGE(answer["id"].dump(), isRandomId(answer["id"].get<std::string>(), "msg_"));
        CPPUNIT_ASSERT_MESSAGE(answer["content"].dump(), isRandomId(answer["content"][0]["id"].get<std::string>(), "toolu_"));
        CPPUNIT_ASSERT(anthropicMessageId(json()) != anthropicMessageId(json()));
        CPPUNIT_ASSERT_EQUAL(std::string("call_1"), anthropicToolUseId("call_1"));
    }

    void whatIsNotACompletionIsRefused() {
        for (const char* text : {R"({})", R"({"choices":[]})", R"({"choices":[{"text":"legacy"}]})", R"({"choices":[1]})",
                                 R"([1])", R"({"error":{"message":"overloaded"}})", R"("text")"})
            CPPUNIT_ASSERT_MESSAGE(text, !messagesAnswerFor(json::parse(text), "m"));
        CPPUNIT_ASSERT(!messagesAnswerFor(json::parse("{ cut", nullptr, false), "m"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AnthropicOpenAiTest);

} // namespace
