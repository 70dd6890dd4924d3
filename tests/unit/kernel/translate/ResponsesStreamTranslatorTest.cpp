// ResponsesStreamTranslator: OpenAI chat-completion SSE events in, the
// events of a Responses stream out.
#include <cppunit/extensions/HelperMacros.h>

#include <vector>

#include "ChatStreamSamples.h"
#include "translate/ResponsesStreamTranslator.h"

namespace {

using nlohmann::json;
using sluice::kernel::ResponsesStreamTranslator;
using sluice::kernel::responsesFailedEvents;
using Step = sluice::kernel::StreamFilter::Step;
using namespace sluice::test::chat;

const json kRequest = json::parse(R"({"model":"m","input":"Hi","instructions":"Be terse.","temperature":0.5,
    "tools":[{"type":"function","name":"weather","parameters":{}},{"type":"web_search"}]})");

std::string toolDelta(int index, const std::string& id, const std::string& name, const std::string& arguments) {
    json function = {{"arguments", arguments}};
    if (!name.empty()) function["name"] = name;
    json call = {{"index", index}, {"function", function}};
    if (!id.empty()) call.update({{"id", id}, {"type", "function"}});
    return chunk({{"tool_calls", {call}}});
}

std::vector<std::string> typesOf(const std::vector<json>& events) {
    std::vector<std::string> types;
    for (const auto& one : events) types.push_back(one["type"].get<std::string>());
    return types;
}

// Sequence numbers count up from `first`, one per event.
void assertNumbered(const std::vector<json>& events, std::uint64_t first = 0) {
    for (std::size_t i = 0; i < events.size(); ++i)
        CPPUNIT_ASSERT_EQUAL(json(first + i), events[i]["sequence_number"]);
}

// An event's fields past its type and number (which typesOf and assertNumbered check).
json fieldsOf(json event) {
    event.erase("type");
    event.erase("sequence_number");
    return event;
}

json with(json fields, const json& more) {
    fields.update(more);
    return fields;
}

class ResponsesStreamTranslatorTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ResponsesStreamTranslatorTest);
    CPPUNIT_TEST(textStreamsAsOneMessageItem);
    CPPUNIT_TEST(aFunctionCallStreamsItsArgumentsInPieces);
    CPPUNIT_TEST(textThenAFunctionCall);
    CPPUNIT_TEST(interleavedCallsStayOpenUntilTheTurnEnds);
    CPPUNIT_TEST(reasoningBecomesASummaryBeforeTheText);
    CPPUNIT_TEST(aCutAnswerEndsIncomplete);
    CPPUNIT_TEST(anEmptyAnswerStillHasItsMessage);
    CPPUNIT_TEST(errorEventsStopTheStream);
    CPPUNIT_TEST(commentsAndRoleOnlyEventsAreQuiet);
    CPPUNIT_TEST(aFinishedStreamWithoutDoneEnds);
    CPPUNIT_TEST(eventsAfterDoneAreIgnored);
    CPPUNIT_TEST(failureFramesEndTheStreamInProtocol);
    CPPUNIT_TEST(toolCallsWithoutIndexFollowTheirIds);
    CPPUNIT_TEST_SUITE_END();

public:
    void textStreamsAsOneMessageItem() {
        ResponsesStreamTranslator translator(kRequest, "gpt-4o-mini");
        std::string out;
        CPPUNIT_ASSERT(translator.take(chunk({{"role", "assistant"}, {"content", ""}}), out) == Step::Quiet);
        CPPUNIT_ASSERT(out.empty());
        CPPUNIT_ASSERT(translator.take(chunk({{"content", "Hel"}}), out) == Step::Answer);
        const auto opening = namedEventsOf(out);
        CPPUNIT_ASSERT(translator.take(chunk({{"content", "lo"}}), out) == Step::Answer);
        CPPUNIT_ASSERT(translator.take(chunk(json::object(), "stop"), out) == Step::Quiet);
        CPPUNIT_ASSERT(!translator.usage().reported);
        CPPUNIT_ASSERT(translator.take(usageChunk(9, 2), out) == Step::Quiet);
        CPPUNIT_ASSERT(translator.usage().reported);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{9}, translator.usage().promptTokens);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, translator.usage().completionTokens);
        CPPUNIT_ASSERT(translator.take("data: [DONE]\n\n", out) == Step::Done);

        const auto events = namedEventsOf(out);
        const std::vector<std::string> expected{
            "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
            "response.content_part.done", "response.output_item.done", "response.completed"};
        CPPUNIT_ASSERT(typesOf(events) == expected);
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), opening.size());
        assertNumbered(events);

        const auto& created = events[0]["response"];
        CPPUNIT_ASSERT(created["id"].get<std::string>().starts_with("resp_"));
        CPPUNIT_ASSERT_EQUAL(json("in_progress"), created["status"]);
        CPPUNIT_ASSERT_EQUAL(json::array(), created["output"]);
        CPPUNIT_ASSERT(created["usage"].is_null());
        CPPUNIT_ASSERT_EQUAL(created, events[1]["response"]);
        // The request's settings, echoed; only the function tool was offered.
        CPPUNIT_ASSERT_EQUAL(json("gpt-4o-mini"), created["model"]);
        CPPUNIT_ASSERT_EQUAL(json("Be terse."), created["instructions"]);
        CPPUNIT_ASSERT_EQUAL(json(0.5), created["temperature"]);
        CPPUNIT_ASSERT_EQUAL(json::parse(R"([{"type":"function","name":"weather","parameters":{}}])"), created["tools"]);

        const auto itemId = events[2]["item"]["id"].get<std::string>();
        CPPUNIT_ASSERT(itemId.starts_with("msg_"));
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"output_index":0,"item":{"id":")" + itemId +
                                         R"(","type":"message","status":"in_progress","content":[],"role":"assistant"}})"), fieldsOf(events[2]));
        const json emptyPart = json::parse(R"({"type":"output_text","annotations":[],"logprobs":[],"text":""})");
        CPPUNIT_ASSERT_EQUAL((json{{"item_id", itemId}, {"output_index", 0}, {"content_index", 0}, {"part", emptyPart}}), fieldsOf(events[3]));
        const json inText = {{"item_id", itemId}, {"output_index", 0}, {"content_index", 0}};
        CPPUNIT_ASSERT_EQUAL(with(inText, json{{"delta", "Hel"}, {"logprobs", json::array()}}), fieldsOf(events[4]));
        CPPUNIT_ASSERT_EQUAL(json("lo"), events[5]["delta"]);
        CPPUNIT_ASSERT_EQUAL(with(inText, json{{"text", "Hello"}, {"logprobs", json::array()}}), fieldsOf(events[6]));
        const json part = json::parse(R"({"type":"output_text","annotations":[],"logprobs":[],"text":"Hello"})");
        CPPUNIT_ASSERT_EQUAL(part, events[7]["part"]);
        const json item = {{"id", itemId}, {"type", "message"}, {"status", "completed"}, {"content", {part}}, {"role", "assistant"}};
        CPPUNIT_ASSERT_EQUAL(item, events[8]["item"]);
        CPPUNIT_ASSERT_EQUAL(json(0), events[8]["output_index"]);

        const auto& completed = events[9]["response"];
        CPPUNIT_ASSERT_EQUAL(created["id"], completed["id"]);
        CPPUNIT_ASSERT_EQUAL(json("completed"), completed["status"]);
        CPPUNIT_ASSERT(completed["completed_at"].is_number_integer());
        CPPUNIT_ASSERT_EQUAL(json::array({item}), completed["output"]);
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"input_tokens":9,"input_tokens_details":{"cached_tokens":0},"output_tokens":2,
            "output_tokens_details":{"reasoning_tokens":0},"total_tokens":11})"), completed["usage"]);
    }

    void aFunctionCallStreamsItsArgumentsInPieces() {
        ResponsesStreamTranslator translator(kRequest, "m");
        std::string out;
        CPPUNIT_ASSERT(translator.take(chunk({{"role", "assistant"}, {"content", nullptr}}), out) == Step::Quiet);
        CPPUNIT_ASSERT(translator.take(toolDelta(0, "call_1", "weather", ""), out) == Step::Answer);
        CPPUNIT_ASSERT(translator.take(toolDelta(0, "", "", "{\"city\":"), out) == Step::Answer);
        CPPUNIT_ASSERT(translator.take(toolDelta(0, "", "", "\"Paris\"}"), out) == Step::Answer);
        CPPUNIT_ASSERT(translator.take(chunk(json::object(), "tool_calls"), out) == Step::Quiet);
        translator.take(usageChunk(20, 8), out);
        CPPUNIT_ASSERT(translator.take("data: [DONE]\n\n", out) == Step::Done);

        const auto events = namedEventsOf(out);
        const std::vector<std::string> expected{
            "response.created", "response.in_progress", "response.output_item.added",
            "response.function_call_arguments.delta", "response.function_call_arguments.delta",
            "response.function_call_arguments.done", "response.output_item.done", "response.completed"};
        CPPUNIT_ASSERT(typesOf(events) == expected);
        assertNumbered(events);
        const auto itemId = events[2]["item"]["id"].get<std::string>();
        CPPUNIT_ASSERT(itemId.starts_with("fc_"));
        const json item = {{"id", itemId}, {"type", "function_call"}, {"status", "completed"}, {"arguments", R"({"city":"Paris"})"},
                           {"call_id", "call_1"}, {"name", "weather"}};
        CPPUNIT_ASSERT_EQUAL(with(item, {{"status", "in_progress"}, {"arguments", ""}}), events[2]["item"]);
        CPPUNIT_ASSERT_EQUAL((json{{"item_id", itemId}, {"output_index", 0}, {"delta", "{\"city\":"}}), fieldsOf(events[3]));
        CPPUNIT_ASSERT_EQUAL(json("\"Paris\"}"), events[4]["delta"]);
        CPPUNIT_ASSERT_EQUAL((json{{"item_id", itemId}, {"output_index", 0}, {"name", "weather"}, {"arguments", R"({"city":"Paris"})"}}),
                             fieldsOf(events[5]));
        CPPUNIT_ASSERT_EQUAL(item, events[6]["item"]);
        const auto& completed = events[7]["response"];
        CPPUNIT_ASSERT_EQUAL(json::array({item}), completed["output"]);
        CPPUNIT_ASSERT_EQUAL(json(28), completed["usage"]["total_tokens"]);
    }

    void textThenAFunctionCall() {
        ResponsesStreamTranslator translator(kRequest, "m");
        std::string out;
        translator.take(chunk({{"role", "assistant"}, {"content", "Checking."}}), out);
        translator.take(toolDelta(0, "call_1", "weather", "{}"), out);
        translator.take(chunk(json::object(), "tool_calls"), out);
        translator.take("data: [DONE]\n\n", out);
        const auto events = namedEventsOf(out);
        const std::vector<std::string> expected{
            "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            "response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done",
            "response.output_item.done", "response.completed"};
        CPPUNIT_ASSERT(typesOf(events) == expected);
        assertNumbered(events);
        CPPUNIT_ASSERT_EQUAL(json(0), events[7]["output_index"]);
        CPPUNIT_ASSERT_EQUAL(json(1), events[8]["output_index"]);
        CPPUNIT_ASSERT_EQUAL(json(1), events[11]["output_index"]);
        const auto& output = events[12]["response"]["output"];
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), output.size());
        CPPUNIT_ASSERT_EQUAL(json("Checking."), output[0]["content"][0]["text"]);
        CPPUNIT_ASSERT_EQUAL(events[7]["item"], output[0]);
        CPPUNIT_ASSERT_EQUAL(events[11]["item"], output[1]);
    }

    void interleavedCallsStayOpenUntilTheTurnEnds() {
        ResponsesStreamTranslator translator(kRequest, "m");
        std::string out;
        translator.take(toolDelta(0, "call_a", "weather", "{\"city\":"), out);
        translator.take(toolDelta(1, "call_b", "now", "{"), out);
        translator.take(toolDelta(0, "", "", "\"Rome\"}"), out);
        translator.take(toolDelta(1, "", "", "}"), out);
        translator.take(chunk(json::object(), "tool_calls"), out);
        translator.take("data: [DONE]\n\n", out);
        const auto events = namedEventsOf(out);
        assertNumbered(events);
        std::vector<json> deltas;
        for (const auto& one : events)
            if (one["type"] == "response.function_call_arguments.delta") deltas.push_back(one);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), deltas.size());
        CPPUNIT_ASSERT_EQUAL(json(0), deltas[2]["output_index"]);
        CPPUNIT_ASSERT_EQUAL(json(1), deltas[3]["output_index"]);
        const auto& output = events.back()["response"]["output"];
        CPPUNIT_ASSERT_EQUAL(json("{\"city\":\"Rome\"}"), output[0]["arguments"]);
        CPPUNIT_ASSERT_EQUAL(json("{}"), output[1]["arguments"]);
        CPPUNIT_ASSERT_EQUAL(json("now"), output[1]["name"]);
    }

    void reasoningBecomesASummaryBeforeTheText() {
        ResponsesStreamTranslator translator(kRequest, "m");
        std::string out;
        CPPUNIT_ASSERT(translator.take(chunk({{"role", "assistant"}, {"reasoning_content", "Think"}}), out) == Step::Answer);
        translator.take(chunk({{"reasoning", "ing."}}), out);  // Ollama's spelling
        translator.take(chunk({{"content", "Blue."}}), out);
        translator.take(chunk(json::object(), "stop"), out);
        translator.take("data: [DONE]\n\n", out);
        const auto events = namedEventsOf(out);
        const std::vector<std::string> expected{
            "response.created", "response.in_progress", "response.output_item.added", "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done", "response.output_item.done", "response.output_item.added",
            "response.content_part.added", "response.output_text.delta", "response.output_text.done",
            "response.content_part.done", "response.output_item.done", "response.completed"};
        CPPUNIT_ASSERT(typesOf(events) == expected);
        assertNumbered(events);
        const auto itemId = events[2]["item"]["id"].get<std::string>();
        CPPUNIT_ASSERT(itemId.starts_with("rs_"));
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"id":")" + itemId + R"(","type":"reasoning","summary":[]})"), events[2]["item"]);
        const json inSummary = {{"item_id", itemId}, {"output_index", 0}, {"summary_index", 0}};
        CPPUNIT_ASSERT_EQUAL(with(inSummary, json{{"part", {{"type", "summary_text"}, {"text", ""}}}}), fieldsOf(events[3]));
        CPPUNIT_ASSERT_EQUAL(with(inSummary, json{{"delta", "Think"}}), fieldsOf(events[4]));
        CPPUNIT_ASSERT_EQUAL(json("Thinking."), events[6]["text"]);
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"type":"summary_text","text":"Thinking."})"), events[7]["part"]);
        const json reasoning = json::parse(R"({"id":")" + itemId + R"(","type":"reasoning","summary":[{"type":"summary_text","text":"Thinking."}]})");
        CPPUNIT_ASSERT_EQUAL(reasoning, events[8]["item"]);
        CPPUNIT_ASSERT_EQUAL(json(1), events[9]["output_index"]);
        const auto& output = events.back()["response"]["output"];
        CPPUNIT_ASSERT_EQUAL(reasoning, output[0]);
        CPPUNIT_ASSERT_EQUAL(json("Blue."), output[1]["content"][0]["text"]);
    }

    void aCutAnswerEndsIncomplete() {
        ResponsesStreamTranslator translator(kRequest, "m");
        std::string out;
        translator.take(chunk({{"content", "Once upon"}}), out);
        translator.take(chunk(json::object(), "length"), out);
        translator.take("data: [DONE]\n\n", out);
        const auto events = namedEventsOf(out);
        CPPUNIT_ASSERT_EQUAL(json("response.incomplete"), events.back()["type"]);
        const auto& response = events.back()["response"];
        CPPUNIT_ASSERT_EQUAL(json("incomplete"), response["status"]);
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"reason":"max_output_tokens"})"), response["incomplete_details"]);
        CPPUNIT_ASSERT_EQUAL(json("incomplete"), response["output"][0]["status"]);
    }

    void anEmptyAnswerStillHasItsMessage() {
        ResponsesStreamTranslator translator(kRequest, "m");
        std::string out;
        CPPUNIT_ASSERT(translator.take(chunk({{"role", "assistant"}, {"content", ""}}, "stop"), out) == Step::Quiet);
        CPPUNIT_ASSERT(out.empty());
        CPPUNIT_ASSERT(translator.take("data: [DONE]\n\n", out) == Step::Done);
        const auto events = namedEventsOf(out);
        const std::vector<std::string> expected{
            "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
            "response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"};
        CPPUNIT_ASSERT(typesOf(events) == expected);
        CPPUNIT_ASSERT_EQUAL(json(""), events.back()["response"]["output"][0]["content"][0]["text"]);
        // No usage chunk came: no counts are made up.
        CPPUNIT_ASSERT(events.back()["response"]["usage"].is_null());
        CPPUNIT_ASSERT(!translator.usage().reported);
    }

    void errorEventsStopTheStream() {
        ResponsesStreamTranslator translator(kRequest, "m");
        std::string out;
        translator.take(chunk({{"content", "Hi"}}), out);
        const auto before = out;
        CPPUNIT_ASSERT(translator.take(event(R"({"error":{"message":"The server is overloaded","type":"server_error"}})"), out) == Step::Error);
        CPPUNIT_ASSERT_EQUAL(std::string("The server is overloaded"), translator.error());
        CPPUNIT_ASSERT_EQUAL(before, out);

        ResponsesStreamTranslator plain(kRequest, "m");
        CPPUNIT_ASSERT(plain.take(event(R"({"error":"quota exceeded"})"), out) == Step::Error);
        CPPUNIT_ASSERT_EQUAL(std::string("quota exceeded"), plain.error());

        ResponsesStreamTranslator garbled(kRequest, "m");
        CPPUNIT_ASSERT(garbled.take(event("{\"choices\":[{\"delta\""), out) == Step::Error);
        CPPUNIT_ASSERT(!garbled.error().empty());
        CPPUNIT_ASSERT_EQUAL(before, out);
    }

    void commentsAndRoleOnlyEventsAreQuiet() {
        ResponsesStreamTranslator translator(kRequest, "m");
        std::string out;
        for (const char* nothing : {": keep-alive\n\n", "\n\n", "event: ping\n\n", "id: 4\nretry: 100\n\n"})
            CPPUNIT_ASSERT_MESSAGE(nothing, translator.take(nothing, out) == Step::Quiet);
        CPPUNIT_ASSERT(translator.take(chunk({{"role", "assistant"}}), out) == Step::Quiet);
        // A second choice is not the client's answer.
        CPPUNIT_ASSERT(translator.take(event(json{{"choices", {{{"index", 1}, {"delta", {{"content", "other"}}}}}}}.dump()), out) == Step::Quiet);
        CPPUNIT_ASSERT(out.empty());
    }

    void aFinishedStreamWithoutDoneEnds() {
        ResponsesStreamTranslator cut(kRequest, "m");
        std::string out;
        cut.take(chunk({{"content", "Hel"}}), out);
        const auto before = out;
        CPPUNIT_ASSERT_MESSAGE("no finish_reason: cut short", !cut.finish(out));
        CPPUNIT_ASSERT_EQUAL(before, out);

        ResponsesStreamTranslator finished(kRequest, "m");
        std::string whole;
        finished.take(chunk({{"content", "Hello"}}), whole);
        finished.take(chunk(json::object(), "stop"), whole);
        CPPUNIT_ASSERT(finished.finish(whole));
        const auto events = namedEventsOf(whole);
        assertNumbered(events);
        CPPUNIT_ASSERT_EQUAL(json("response.completed"), events.back()["type"]);
        CPPUNIT_ASSERT(finished.finish(whole));
        CPPUNIT_ASSERT_EQUAL(events.size(), namedEventsOf(whole).size());
    }

    void eventsAfterDoneAreIgnored() {
        ResponsesStreamTranslator translator(kRequest, "m");
        std::string out;
        translator.take(chunk({{"content", "Hi"}}), out);
        translator.take("data: [DONE]\n\n", out);
        const auto after = out;
        CPPUNIT_ASSERT(translator.take(chunk({{"content", "late"}}), out) == Step::Done);
        CPPUNIT_ASSERT(translator.take("data: [DONE]\n\n", out) == Step::Done);
        CPPUNIT_ASSERT(translator.finish(out));
        CPPUNIT_ASSERT_EQUAL(after, out);
    }

    void failureFramesEndTheStreamInProtocol() {
        const auto events = namedEventsOf(responsesFailedEvents("the backend's stream broke off", "upstream_stream_failed", 7));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), events.size());
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"type":"error","code":"upstream_stream_failed","message":"the backend's stream broke off",
            "param":null,"error":{"type":"server_error","code":"upstream_stream_failed","message":"the backend's stream broke off",
            "param":null},"sequence_number":7})"), events[0]);
        CPPUNIT_ASSERT_EQUAL(json(8), events[1]["sequence_number"]);
        const auto& failed = events[1]["response"];
        CPPUNIT_ASSERT_EQUAL(json("failed"), failed["status"]);
        CPPUNIT_ASSERT_EQUAL(json::parse(R"({"code":"upstream_stream_failed","message":"the backend's stream broke off"})"), failed["error"]);
        CPPUNIT_ASSERT_EQUAL(json::array(), failed["output"]);
        CPPUNIT_ASSERT_EQUAL(json("server_error"), namedEventsOf(responsesFailedEvents("x", ""))[0]["code"]);

        // The translator's own numbers on from what it sent, and names its response.
        ResponsesStreamTranslator translator(kRequest, "m");
        std::string out;
        translator.take(chunk({{"content", "Hel"}}), out);
        const auto sent = namedEventsOf(out);
        const auto ending = namedEventsOf(translator.failedEvents("stalled", "upstream_stream_failed"));
        assertNumbered(ending, sent.size());
        CPPUNIT_ASSERT_EQUAL(sent[0]["response"]["id"], ending[1]["response"]["id"]);
        CPPUNIT_ASSERT_EQUAL(sent[2]["item"], ending[1]["response"]["output"][0]);  // as far as it came
    }

    // A provider that numbers no calls: a piece without an id continues the
    // call before it, a new id starts the next.
    void toolCallsWithoutIndexFollowTheirIds() {
        ResponsesStreamTranslator translator(kRequest, "m");
        std::string out;
        translator.take(chunk({{"tool_calls", {{{"id", "c1"}, {"type", "function"}, {"function", {{"name", "f"}, {"arguments", ""}}}}}}}), out);
        translator.take(chunk({{"tool_calls", {{{"function", {{"arguments", "{\"a\":1}"}}}}}}}), out);
        translator.take(chunk({{"tool_calls", {{{"id", "c2"}, {"type", "function"}, {"function", {{"name", "g"}, {"arguments", "{}"}}}}}}}, "tool_calls"), out);
        CPPUNIT_ASSERT(translator.take(kDone, out) == Step::Done);
        json completed;
        for (const auto& event : namedEventsOf(out))
            if (event["type"] == "response.completed") completed = event["response"];
        const auto& output = completed["output"];
        std::vector<json> calls;
        for (const auto& item : output)
            if (item["type"] == "function_call") calls.push_back(item);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, calls.size());
        CPPUNIT_ASSERT_EQUAL(std::string("c1"), calls[0]["call_id"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("{\"a\":1}"), calls[0]["arguments"].get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("g"), calls[1]["name"].get<std::string>());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ResponsesStreamTranslatorTest);

} // namespace
