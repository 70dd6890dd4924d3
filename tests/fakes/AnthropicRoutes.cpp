// Anthropic's Messages API (POST /v1/messages), as Anthropic and Ollama (>= 0.14)
// serve it, and the model list of Anthropic's own API (--kind anthropic).
#include "Answers.h"
#include "Routes.h"
#include "ToolAnswers.h"

namespace sluice::fake {

namespace {

using nlohmann::json;

const std::string modelsPrefix = "/v1/models/";
const char* const modelCreatedAt = "2025-01-01T00:00:00Z";  // fixed so answers are deterministic

json modelEntry(const std::string& name) {
    return {{"type", "model"}, {"id", name}, {"display_name", name}, {"created_at", modelCreatedAt}};
}

void fail(RouteContext& context, int status, const std::string& message) {
    context.delivery.error(Protocol::Anthropic, status, message);
}

// Words of the system prompt (a string or text blocks) and of every message's text.
int promptWords(const json& body) {
    const int system = body.contains("system") ? countWords(textOfContent(body["system"])) : 0;
    return system + countMessageWords(body["messages"]);
}

// The request's checks in the order Ollama makes them; false after answering the error.
bool validRequest(RouteContext& context) {
    const auto& body = context.body;
    if (!body.contains("model") || !body["model"].is_string() || body["model"].get<std::string>().empty()) {
        fail(context, 400, "model: Field required");
        return false;
    }
    if (!body.contains("max_tokens") || !body["max_tokens"].is_number_integer() || body["max_tokens"].get<long long>() <= 0) {
        fail(context, 400, "max_tokens: Field required (a positive integer)");
        return false;
    }
    if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
        fail(context, 400, "messages: Field required (a non-empty array)");
        return false;
    }
    const auto model = body["model"].get<std::string>();
    if (!context.catalog.find(model)) {
        fail(context, 404,
             context.kind == BackendKind::Anthropic ? "model: " + model : "model '" + model + "' not found");
        return false;
    }
    return true;
}

// The content block an answer holds, as a whole answer or as content_block_start announces it.
json contentBlock(const Reply& reply, const std::string& callId, bool whole) {
    if (!reply.toolCall) return {{"type", "text"}, {"text", whole ? reply.text() : std::string()}};
    return {{"type", "tool_use"},
            {"id", callId},
            {"name", reply.toolCall->name},
            {"input", whole ? reply.toolCall->arguments : json::object()}};
}

void answerModels(RouteContext& context) {
    json data = json::array();
    for (const auto& name : context.catalog.snapshot().all()) data.push_back(modelEntry(name));
    const bool empty = data.empty();
    context.exchange.sendJson(200, {{"data", data},
                                    {"has_more", false},
                                    {"first_id", empty ? json() : data.front()["id"]},
                                    {"last_id", empty ? json() : data.back()["id"]}});
}

void answerModel(RouteContext& context) {
    const auto requested = context.exchange.path().substr(modelsPrefix.size());
    const auto listed = context.catalog.find(requested);
    if (!listed) {
        fail(context, 404, "model: " + requested);
        return;
    }
    context.exchange.sendJson(200, modelEntry(*listed));
}

}  // namespace

void answerAnthropicMessages(RouteContext& context) {
    if (!validRequest(context)) return;
    const auto& body = context.body;
    const auto model = body["model"].get<std::string>();
    const Reply reply = planReply(askOfAnthropicMessages(body), context.backendName, context.plan.chunks);
    const std::string id = newId("msg_fake");
    const std::string callId = reply.toolCall ? newId("toolu_fake") : std::string();
    const std::string stopReason = reply.toolCall ? "tool_use" : "end_turn";
    const int inputTokens = promptWords(body);
    const int outputTokens = reply.completionTokens();
    const bool withUsage = !context.plan.noUsage;

    json message = {{"id", id},
                    {"type", "message"},
                    {"role", "assistant"},
                    {"model", model},
                    {"content", {contentBlock(reply, callId, true)}},
                    {"stop_reason", stopReason},
                    {"stop_sequence", nullptr}};
    if (withUsage) message["usage"] = {{"input_tokens", inputTokens}, {"output_tokens", outputTokens}};
    if (!(body.contains("stream") && body["stream"].is_boolean() && body["stream"].get<bool>())) {
        context.delivery.whole(context.plan, message);
        return;
    }

    // message_start, content_block_start and ping open the stream and ride with the
    // first delta, so a fault "after N chunks" counts deltas here as it does in the other APIs.
    const auto& deltas = reply.toolCall ? reply.toolCall->argumentPieces : reply.pieces;
    auto opening = [&] {
        json start = message;
        start["content"] = json::array();
        start["stop_reason"] = nullptr;
        if (withUsage) start["usage"]["output_tokens"] = 0;
        return sseEvent("message_start", {{"type", "message_start"}, {"message", start}}) +
               sseEvent("content_block_start",
                        {{"type", "content_block_start"}, {"index", 0}, {"content_block", contentBlock(reply, callId, false)}}) +
               sseEvent("ping", {{"type", "ping"}});
    };
    auto contentEvent = [&](std::size_t i) -> std::string {
        if (i >= deltas.size()) return {};
        const json delta = reply.toolCall ? json{{"type", "input_json_delta"}, {"partial_json", deltas[i]}}
                                          : json{{"type", "text_delta"}, {"text", deltas[i]}};
        return sseEvent("content_block_delta", {{"type", "content_block_delta"}, {"index", 0}, {"delta", delta}});
    };
    auto tailEvent = [&](std::size_t i) -> std::string {
        if (i == 0) return sseEvent("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}});
        if (i == 1) {
            json delta = {{"type", "message_delta"},
                          {"delta", {{"stop_reason", stopReason}, {"stop_sequence", nullptr}}}};
            if (withUsage) delta["usage"] = {{"output_tokens", outputTokens}};
            return sseEvent("message_delta", delta);
        }
        return sseEvent("message_stop", {{"type", "message_stop"}});
    };
    // The end marker is message_delta (the stop reason) and message_stop; the
    // content block still closes with omit_done.
    context.delivery.stream(context.plan, {.contentType = "text/event-stream",
                                           .opening = opening,
                                           .count = std::max<std::size_t>(1, deltas.size()),
                                           .content = contentEvent,
                                           .tailCount = 3,
                                           .tail = tailEvent,
                                           .endMarkers = 2,
                                           .deltaEvent = "content_block_delta"});
}

RouteMatch matchAnthropicRoute(const std::string& method, const std::string& path) {
    if (path == "/v1/models" || (path.size() > modelsPrefix.size() && path.starts_with(modelsPrefix)))
        return method == "GET" || method == "HEAD" ? RouteMatch::Found : RouteMatch::WrongMethod;
    return RouteMatch::NotFound;
}

void answerAnthropic(RouteContext& context) {
    if (context.exchange.path() == "/v1/models")
        answerModels(context);
    else
        answerModel(context);
}

}  // namespace sluice::fake
