// The OpenAI-compatible API (/v1/*) that both kinds of fake serve.
#include "Answers.h"
#include "Routes.h"
#include "ToolAnswers.h"

namespace sluice::fake {

namespace {

constexpr long long modelCreated = 1735689600;  // 2025-01-01, fixed so answers are deterministic
const std::string modelsPrefix = "/v1/models/";

nlohmann::json modelEntry(const RouteContext& context, const std::string& name) {
    return {{"id", name},
            {"object", "model"},
            {"created", modelCreated},
            {"owned_by", context.kind == BackendKind::Ollama ? "library" : context.backendName}};
}

nlohmann::json usageOf(int promptTokens, int completionTokens) {
    return {{"prompt_tokens", promptTokens},
            {"completion_tokens", completionTokens},
            {"total_tokens", promptTokens + completionTokens}};
}

// The request's "model", or "" after answering 400 / 404 for it.
std::string requireModel(RouteContext& context) {
    const auto& value = context.body.contains("model") ? context.body["model"] : nlohmann::json();
    if (!value.is_string() || value.get<std::string>().empty()) {
        context.delivery.error(Protocol::OpenAi, 400, "you must provide a model parameter", {}, "model");
        return {};
    }
    const auto model = value.get<std::string>();
    if (!context.catalog.find(model)) {
        context.delivery.error(Protocol::OpenAi, 404, "The model `" + model + "` does not exist.", "model_not_found");
        return {};
    }
    return model;
}

bool wantsStream(const nlohmann::json& body) {
    return body.contains("stream") && body["stream"].is_boolean() && body["stream"].get<bool>();
}

bool wantsUsage(const nlohmann::json& body) {
    if (!body.contains("stream_options") || !body["stream_options"].is_object()) return false;
    const auto& options = body["stream_options"];
    return options.contains("include_usage") && options["include_usage"].is_boolean() &&
           options["include_usage"].get<bool>();
}

void answerModels(RouteContext& context) {
    nlohmann::json data = nlohmann::json::array();
    for (const auto& name : context.catalog.snapshot().all()) data.push_back(modelEntry(context, name));
    context.exchange.sendJson(200, {{"object", "list"}, {"data", data}});
}

void answerModel(RouteContext& context) {
    const auto requested = context.exchange.path().substr(modelsPrefix.size());
    const auto listed = context.catalog.find(requested);
    if (!listed) {
        context.delivery.error(Protocol::OpenAi, 404, "The model `" + requested + "` does not exist.", "model_not_found");
        return;
    }
    context.exchange.sendJson(200, modelEntry(context, *listed));
}

// Chat completions and legacy completions: same flow, delta vs text. A chat
// may be answered with a tool call instead (ToolAnswers.h).
void answerCompletion(RouteContext& context, bool chat) {
    const auto& body = context.body;
    if (chat && (!body.contains("messages") || !body["messages"].is_array())) {
        context.delivery.error(Protocol::OpenAi, 400, "'messages' is a required property and must be an array", {},
                               "messages");
        return;
    }
    const auto model = requireModel(context);
    if (model.empty()) return;
    const Reply reply = chat ? planReply(askOfOpenAiChat(body), context.backendName, context.plan.chunks)
                             : Reply{answerPieces(context.backendName, context.plan.chunks), std::nullopt};
    const auto& pieces = reply.pieces;
    const auto& call = reply.toolCall;
    const std::string callId = call ? newId("call_") : std::string();
    const std::string finishReason = call ? "tool_calls" : "stop";
    const int promptTokens =
        chat ? countMessageWords(body["messages"]) : countInputWords(body.value("prompt", nlohmann::json("")));
    const int completionTokens = reply.completionTokens();
    const std::string id = newId(chat ? "chatcmpl-" : "cmpl-");
    const long long created = unixNow();

    if (!wantsStream(body)) {
        nlohmann::json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finishReason}};
        if (chat && call)
            choice["message"] = {{"role", "assistant"},
                                 {"content", nullptr},
                                 {"tool_calls",
                                  {{{"id", callId},
                                    {"type", "function"},
                                    {"function", {{"name", call->name}, {"arguments", call->argumentsText()}}}}}}};
        else if (chat)
            choice["message"] = {{"role", "assistant"}, {"content", reply.text()}};
        else
            choice["text"] = reply.text();
        nlohmann::json answer = {{"id", id},
                                 {"object", chat ? "chat.completion" : "text_completion"},
                                 {"created", created},
                                 {"model", model},
                                 {"system_fingerprint", "fp_sluice_fake"},
                                 {"choices", {choice}}};
        if (!context.plan.noUsage) answer["usage"] = usageOf(promptTokens, completionTokens);
        context.delivery.whole(context.plan, answer);
        return;
    }

    // A provider that ignores stream_options.include_usage, with no_usage.
    const bool includeUsage = wantsUsage(body) && !context.plan.noUsage;
    auto chunk = [&](nlohmann::json choices) {
        nlohmann::json object = {{"id", id},
                                 {"object", chat ? "chat.completion.chunk" : "text_completion"},
                                 {"created", created},
                                 {"model", model},
                                 {"system_fingerprint", "fp_sluice_fake"},
                                 {"choices", std::move(choices)}};
        if (includeUsage) object["usage"] = nullptr;
        return object;
    };
    auto deltaChoice = [&](nlohmann::json delta, bool last) {
        return nlohmann::json{{"index", 0},
                              {"delta", std::move(delta)},
                              {"logprobs", nullptr},
                              {"finish_reason", last ? nlohmann::json(finishReason) : nlohmann::json()}};
    };
    auto choice = [&](const std::string& text, bool first, bool last) {
        if (!chat)
            return nlohmann::json{{"index", 0}, {"logprobs", nullptr}, {"finish_reason", last ? nlohmann::json("stop") : nlohmann::json()}, {"text", text}};
        nlohmann::json delta = nlohmann::json::object();
        if (first) delta["role"] = "assistant";
        if (!last) delta["content"] = text;
        return deltaChoice(std::move(delta), last);
    };
    // A tool call streams as OpenAI does: a first delta with the id and name (the
    // stream's opening), then the arguments in pieces (the first in the same write).
    auto toolCallHead = [&] {
        const nlohmann::json head = {{"index", 0},
                                     {"id", callId},
                                     {"type", "function"},
                                     {"function", {{"name", call->name}, {"arguments", ""}}}};
        return sseEvent(chunk({deltaChoice({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", {head}}}, false)}));
    };
    auto toolCallEvent = [&](std::size_t i) {
        const nlohmann::json piece = {{"index", 0}, {"function", {{"arguments", call->argumentPieces[i]}}}};
        return sseEvent(chunk({deltaChoice({{"tool_calls", {piece}}}, false)}));
    };

    // A chat stream always opens with the role, even when it has no content.
    const std::size_t count = call ? call->argumentPieces.size() : pieces.empty() && chat ? 1 : pieces.size();
    auto contentEvent = [&](std::size_t i) {
        if (call) return toolCallEvent(i);
        return sseEvent(chunk({choice(pieces.empty() ? std::string() : pieces[i], i == 0, false)}));
    };
    auto tailEvent = [&](std::size_t i) -> std::string {
        if (i == 0) return sseEvent(chunk({choice("", false, true)}));
        if (i == 1 && includeUsage) {
            auto usage = chunk(nlohmann::json::array());
            usage["usage"] = usageOf(promptTokens, completionTokens);
            return sseEvent(usage);
        }
        return "data: [DONE]\n\n";
    };
    // The end marker is [DONE] alone: omit_done keeps the finish and usage chunks.
    context.delivery.stream(context.plan, {.contentType = "text/event-stream",
                                           .opening = call ? std::function<std::string()>(toolCallHead) : nullptr,
                                           .count = count,
                                           .content = contentEvent,
                                           .tailCount = includeUsage ? 3u : 2u,
                                           .tail = tailEvent,
                                           .endMarkers = 1,
                                           .deltaEvent = {}});  // unnamed events
}

void answerEmbeddings(RouteContext& context) {
    const auto& body = context.body;
    if (!body.contains("input") || !(body["input"].is_string() || body["input"].is_array())) {
        context.delivery.error(Protocol::OpenAi, 400, "'input' is a required property", {}, "input");
        return;
    }
    const auto model = requireModel(context);
    if (model.empty()) return;
    // Inputs: a string, strings, or token arrays (hashed through their JSON text).
    std::vector<std::string> texts;
    const auto& input = body["input"];
    const bool tokenArray = input.is_array() && !input.empty() && input[0].is_number_integer();
    if (input.is_string() || tokenArray)
        texts.push_back(input.is_string() ? input.get<std::string>() : input.dump());
    else
        for (const auto& item : input) texts.push_back(item.is_string() ? item.get<std::string>() : item.dump());
    const bool base64 = body.value("encoding_format", "float") == "base64";
    nlohmann::json data = nlohmann::json::array();
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto vector = embeddingOf(texts[i]);
        data.push_back({{"object", "embedding"},
                        {"index", i},
                        {"embedding", base64 ? nlohmann::json(base64OfFloats(vector)) : nlohmann::json(vector)}});
    }
    const int promptTokens = countInputWords(input);
    context.delivery.whole(context.plan, {{"object", "list"},
                                          {"data", data},
                                          {"model", model},
                                          {"usage", {{"prompt_tokens", promptTokens}, {"total_tokens", promptTokens}}}});
}

}  // namespace

RouteMatch matchOpenAiRoute(const std::string& method, const std::string& path) {
    const bool isGet = method == "GET" || method == "HEAD";
    if (path == "/v1/models" || (path.size() > modelsPrefix.size() && path.starts_with(modelsPrefix)))
        return isGet ? RouteMatch::Found : RouteMatch::WrongMethod;
    if (path == "/v1/chat/completions" || path == "/v1/completions" || path == "/v1/embeddings")
        return method == "POST" ? RouteMatch::Found : RouteMatch::WrongMethod;
    return RouteMatch::NotFound;
}

void answerOpenAi(RouteContext& context) {
    const auto& path = context.exchange.path();
    if (path == "/v1/models")
        answerModels(context);
    else if (path.starts_with(modelsPrefix))
        answerModel(context);
    else if (path == "/v1/chat/completions")
        answerCompletion(context, true);
    else if (path == "/v1/completions")
        answerCompletion(context, false);
    else if (path == "/v1/embeddings")
        answerEmbeddings(context);
}

}  // namespace sluice::fake
