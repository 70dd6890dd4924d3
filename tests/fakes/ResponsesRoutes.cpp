// OpenAI's Responses API (POST /v1/responses) as Ollama and vLLM serve it:
// whole Response objects, or the typed event stream with sequence numbers.
#include "Answers.h"
#include "Routes.h"
#include "ToolAnswers.h"

namespace sluice::fake {

namespace {

using nlohmann::json;

json valueOr(const json& body, const char* name, json fallback) {
    return body.contains(name) && !body[name].is_null() ? body[name] : fallback;
}

int promptWords(const json& body) {
    const auto input = valueOr(body, "input", "");
    const int inputWords = input.is_string() ? countWords(input.get<std::string>()) : countMessageWords(input);
    const auto instructions = valueOr(body, "instructions", "");
    return inputWords + (instructions.is_string() ? countWords(instructions.get<std::string>()) : 0);
}

// One answer's ids and counts, and the Response object around its output.
struct ResponseShape {
    ResponseShape(const json& requestBody, std::string modelName) : body(requestBody), model(std::move(modelName)) {}

    const json& body;
    std::string model;
    std::string id = newId("resp_fake");
    std::string itemId;  // msg_… for text, fc_… for a function call
    std::string callId;
    long long createdAt = unixNow();
    json usage;  // null with no_usage

    json object(const std::string& status, json output) const {
        const bool done = status == "completed";
        json text = json::object();
        text["format"] = body.contains("text") && body["text"].is_object() && body["text"].contains("format")
                             ? body["text"]["format"]
                             : json{{"type", "text"}};
        return {{"id", id},
                {"object", "response"},
                {"created_at", createdAt},
                {"completed_at", done ? json(unixNow()) : json()},
                {"status", status},
                {"incomplete_details", nullptr},
                {"model", model},
                {"previous_response_id", nullptr},
                {"instructions", valueOr(body, "instructions", nullptr)},
                {"output", std::move(output)},
                {"error", nullptr},
                {"tools", valueOr(body, "tools", json::array())},
                {"tool_choice", valueOr(body, "tool_choice", "auto")},
                {"truncation", "disabled"},
                {"parallel_tool_calls", true},
                {"text", text},
                {"top_p", valueOr(body, "top_p", 1.0)},
                {"presence_penalty", 0},
                {"frequency_penalty", 0},
                {"top_logprobs", 0},
                {"temperature", valueOr(body, "temperature", 1.0)},
                {"reasoning", nullptr},
                {"usage", done ? usage : json()},
                {"max_output_tokens", valueOr(body, "max_output_tokens", nullptr)},
                {"max_tool_calls", nullptr},
                {"store", false},
                {"background", false},
                {"service_tier", "default"},
                {"metadata", json::object()},
                {"safety_identifier", nullptr},
                {"prompt_cache_key", nullptr}};
    }

    json textPart(const std::string& text) const {
        return {{"type", "output_text"}, {"text", text}, {"annotations", json::array()}, {"logprobs", json::array()}};
    }

    // The output item of a reply: whole (completed) or as output_item.added announces it.
    json item(const Reply& reply, bool done) const {
        const std::string status = done ? "completed" : "in_progress";
        if (reply.toolCall)
            return {{"id", itemId},
                    {"type", "function_call"},
                    {"status", status},
                    {"call_id", callId},
                    {"name", reply.toolCall->name},
                    {"arguments", done ? reply.toolCall->argumentsText() : std::string()}};
        return {{"id", itemId},
                {"type", "message"},
                {"status", status},
                {"role", "assistant"},
                {"content", done ? json::array({textPart(reply.text())}) : json::array()}};
    }
};

// "event: TYPE\ndata: {type, sequence_number, …}\n\n".
std::string typedEvent(const std::string& type, std::size_t sequence, json data) {
    data["type"] = type;
    data["sequence_number"] = sequence;
    return sseEvent(type, data);
}

// The request's model, or "" after answering the error, in the order Ollama checks.
std::string requireModel(RouteContext& context) {
    const auto& body = context.body;
    if (!body.contains("model") || !body["model"].is_string() || body["model"].get<std::string>().empty()) {
        context.delivery.error(Protocol::OpenAi, 400, "you must provide a model parameter", {}, "model");
        return {};
    }
    if (body.contains("input") && !body["input"].is_string() && !body["input"].is_array()) {
        context.delivery.error(Protocol::OpenAi, 400, "input must be a string or array", {}, "input");
        return {};
    }
    // Ollama ignores previous_response_id (it stores nothing); a provider that
    // stores responses would look it up, and this fake has none to find.
    if (context.kind != BackendKind::Ollama && body.contains("previous_response_id") &&
        !body["previous_response_id"].is_null()) {
        context.delivery.error(Protocol::OpenAi, 400, "previous_response_id is not supported: this fake keeps no responses",
                               {}, "previous_response_id");
        return {};
    }
    const auto model = body["model"].get<std::string>();
    if (!context.catalog.find(model)) {
        context.delivery.error(Protocol::OpenAi, 404, "The model `" + model + "` does not exist.", "model_not_found");
        return {};
    }
    return model;
}

}  // namespace

void answerResponses(RouteContext& context) {
    const auto model = requireModel(context);
    if (model.empty()) return;
    const auto& body = context.body;
    const Reply reply = planReply(askOfResponses(body), context.backendName, context.plan.chunks);
    ResponseShape shape(body, model);
    shape.itemId = newId(reply.toolCall ? "fc_fake" : "msg_fake");
    if (reply.toolCall) shape.callId = newId("call_fake");
    const int inputTokens = promptWords(body);
    const int outputTokens = reply.completionTokens();
    if (!context.plan.noUsage)
        shape.usage = {{"input_tokens", inputTokens},
                       {"output_tokens", outputTokens},
                       {"total_tokens", inputTokens + outputTokens},
                       {"input_tokens_details", {{"cached_tokens", 0}}},
                       {"output_tokens_details", {{"reasoning_tokens", 0}}}};

    if (!(body.contains("stream") && body["stream"].is_boolean() && body["stream"].get<bool>())) {
        context.delivery.whole(context.plan, shape.object("completed", json::array({shape.item(reply, true)})));
        return;
    }

    // The opening events ride with the first delta, so a fault "after N chunks"
    // counts deltas here as it does in the other APIs.
    const bool calling = reply.toolCall.has_value();
    const auto& deltas = calling ? reply.toolCall->argumentPieces : reply.pieces;
    const std::size_t headCount = calling ? 3 : 4;
    const std::string text = reply.text();
    const std::string deltaType = calling ? "response.function_call_arguments.delta" : "response.output_text.delta";
    auto opening = [&] {
        std::string events;
        events += typedEvent("response.created", 0, {{"response", shape.object("in_progress", json::array())}});
        events += typedEvent("response.in_progress", 1, {{"response", shape.object("in_progress", json::array())}});
        events += typedEvent("response.output_item.added", 2, {{"output_index", 0}, {"item", shape.item(reply, false)}});
        if (!calling)
            events += typedEvent("response.content_part.added", 3,
                                 {{"item_id", shape.itemId}, {"output_index", 0}, {"content_index", 0}, {"part", shape.textPart("")}});
        return events;
    };
    auto contentEvent = [&](std::size_t i) -> std::string {
        if (i >= deltas.size()) return {};
        json delta = {{"item_id", shape.itemId}, {"output_index", 0}, {"delta", deltas[i]}};
        if (!calling) {
            delta["content_index"] = 0;
            delta["logprobs"] = json::array();
        }
        return typedEvent(deltaType, headCount + i, delta);
    };
    // Calls: arguments.done, output_item.done, completed; text: output_text.done,
    // content_part.done, output_item.done, completed.
    const std::size_t tailCount = calling ? 3 : 4;
    auto tailEvent = [&](std::size_t i) -> std::string {
        const std::size_t sequence = headCount + deltas.size() + i;
        if (i == tailCount - 1)
            return typedEvent("response.completed", sequence,
                              {{"response", shape.object("completed", json::array({shape.item(reply, true)}))}});
        if (i == tailCount - 2)
            return typedEvent("response.output_item.done", sequence, {{"output_index", 0}, {"item", shape.item(reply, true)}});
        if (calling)
            return typedEvent("response.function_call_arguments.done", sequence,
                              {{"item_id", shape.itemId}, {"output_index", 0}, {"arguments", reply.toolCall->argumentsText()}});
        if (i == 0)
            return typedEvent("response.output_text.done", sequence,
                              {{"item_id", shape.itemId}, {"output_index", 0}, {"content_index", 0}, {"text", text}, {"logprobs", json::array()}});
        return typedEvent("response.content_part.done", sequence,
                          {{"item_id", shape.itemId}, {"output_index", 0}, {"content_index", 0}, {"part", shape.textPart(text)}});
    };
    // The end marker is response.completed alone (the malformed frame takes no sequence_number).
    context.delivery.stream(context.plan, {.contentType = "text/event-stream",
                                           .opening = opening,
                                           .count = std::max<std::size_t>(1, deltas.size()),
                                           .content = contentEvent,
                                           .tailCount = tailCount,
                                           .tail = tailEvent,
                                           .endMarkers = 1,
                                           .deltaEvent = deltaType});
}

}  // namespace sluice::fake
