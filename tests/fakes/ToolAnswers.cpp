#include "ToolAnswers.h"

#include <algorithm>

#include "Answers.h"

namespace sluice::fake {

namespace {

using nlohmann::json;

const json& field(const json& object, const char* name) {
    static const json absent;
    return object.is_object() && object.contains(name) ? object[name] : absent;
}

std::string stringField(const json& object, const char* name) {
    const auto& value = field(object, name);
    return value.is_string() ? value.get<std::string>() : std::string();
}

// The schema's type: a string, the first non-"null" of a list, or guessed
// from the keywords present.
std::string typeOf(const json& schema) {
    const auto& type = field(schema, "type");
    if (type.is_string()) return type.get<std::string>();
    if (type.is_array())
        for (const auto& one : type)
            if (one.is_string() && one.get<std::string>() != "null") return one.get<std::string>();
    if (field(schema, "properties").is_object()) return "object";
    if (field(schema, "items").is_object()) return "array";
    return {};
}

// "auto" / "required" / absent: any tool; "none": no tool; an object naming one.
void readToolChoice(const json& choice, ChatAsk& ask, bool flat) {
    if (choice.is_string()) {
        ask.toolsRefused = choice.get<std::string>() == "none";
        return;
    }
    if (!choice.is_object()) return;
    const auto type = stringField(choice, "type");
    if (type == "none") ask.toolsRefused = true;
    // OpenAI chat nests the name under "function"; Anthropic and Responses (flat) do not.
    std::string name = flat || !field(choice, "function").is_object() ? stringField(choice, "name")
                                                                           : stringField(choice["function"], "name");
    if (!name.empty()) ask.namedTool = name;
}

// OpenAI chat and Ollama: [{"type":"function","function":{"name","parameters"}}].
void readNestedFunctionTools(const json& tools, ChatAsk& ask) {
    if (!tools.is_array()) return;
    for (const auto& tool : tools) {
        const auto& function = field(tool, "function");
        const auto type = stringField(tool, "type");
        if ((!type.empty() && type != "function") || stringField(function, "name").empty()) continue;
        ask.tools.push_back({stringField(function, "name"), field(function, "parameters")});
    }
}

// The last message, when its role is "tool": Ollama and OpenAI chat.
void readToolRoleResult(const json& messages, ChatAsk& ask) {
    if (!messages.is_array() || messages.empty()) return;
    const auto& last = messages.back();
    if (stringField(last, "role") == "tool") ask.toolResult = textOfContent(field(last, "content"));
}

// {"type":"json_schema",…} / {"type":"json_object"}; the schema sits at `schema`.
void readJsonFormat(const json& format, const json& schema, ChatAsk& ask) {
    const auto type = stringField(format, "type");
    if (type == "json_object") ask.jsonSchema = json();
    if (type == "json_schema") ask.jsonSchema = schema.is_object() ? schema : json::object();
}

}  // namespace

std::string Reply::text() const { return joinPieces(pieces); }

int Reply::completionTokens() const {
    return static_cast<int>(toolCall ? toolCall->argumentPieces.size() : pieces.size());
}

json valueForSchema(const json& schema) {
    if (const auto& values = field(schema, "enum"); values.is_array() && !values.empty()) return values.front();
    if (schema.is_object() && schema.contains("const")) return schema["const"];
    auto type = typeOf(schema);
    if (type.empty())
        for (const char* alternatives : {"anyOf", "oneOf"})
            if (const auto& list = field(schema, alternatives); list.is_array())
                for (const auto& one : list)
                    if (typeOf(one) != "null" && !typeOf(one).empty()) return valueForSchema(one);
    if (type == "string") return "sluice";
    if (type == "number" || type == "integer") return 42;
    if (type == "boolean") return true;
    if (type == "array") return json::array();
    if (type == "object") return json::object();
    return nullptr;
}

json objectForSchema(const json& schema) {
    json object = json::object();
    const auto& properties = field(schema, "properties");
    std::vector<std::string> names;
    if (const auto& required = field(schema, "required"); required.is_array())
        for (const auto& name : required)
            if (name.is_string()) names.push_back(name.get<std::string>());
    if (names.empty() && properties.is_object())
        for (const auto& item : properties.items()) names.push_back(item.key());
    for (const auto& name : names) object[name] = valueForSchema(field(properties, name.c_str()));
    return object;
}

std::string textOfContent(const json& content) {
    if (content.is_string()) return content.get<std::string>();
    std::string text;
    if (content.is_array())
        for (const auto& part : content) text += part.is_string() ? part.get<std::string>() : stringField(part, "text");
    return text;
}

Reply planReply(const ChatAsk& ask, const std::string& backendName, int chunks) {
    Reply reply;
    if (ask.toolResult) {
        reply.pieces = splitText("Tool said: " + *ask.toolResult, chunks);
        return reply;
    }
    if (!ask.tools.empty() && !ask.toolsRefused) {
        auto chosen = ask.tools.begin();
        if (ask.namedTool)
            chosen = std::find_if(ask.tools.begin(), ask.tools.end(),
                                  [&](const OfferedTool& tool) { return tool.name == *ask.namedTool; });
        if (chosen == ask.tools.end()) chosen = ask.tools.begin();
        ToolCall call{chosen->name, objectForSchema(chosen->schema), {}};
        call.argumentPieces = splitText(call.argumentsText(), std::max(2, chunks));
        reply.toolCall = std::move(call);
        return reply;
    }
    if (ask.jsonSchema) {
        const auto object = ask.jsonSchema->is_null() ? json{{"answer", "Hello from " + backendName}}
                                                      : objectForSchema(*ask.jsonSchema);
        reply.pieces = splitText(object.dump(), chunks);
        return reply;
    }
    // Only the sentence is continued: a prefill with tools or a format asked
    // still gets the call or the JSON, as the rules above decide.
    reply.pieces = answerPieces(backendName, chunks, ask.prefillWords.value_or(0));
    return reply;
}

ChatAsk askOfOllamaChat(const json& body) {
    ChatAsk ask;
    readNestedFunctionTools(field(body, "tools"), ask);
    readToolRoleResult(field(body, "messages"), ask);
    ask.prefillWords = prefillWords(field(body, "messages"));
    const auto& format = field(body, "format");
    if (format.is_string() && format.get<std::string>() == "json") ask.jsonSchema = json();
    if (format.is_object()) ask.jsonSchema = format;
    return ask;
}

ChatAsk askOfOpenAiChat(const json& body) {
    ChatAsk ask;
    readNestedFunctionTools(field(body, "tools"), ask);
    readToolChoice(field(body, "tool_choice"), ask, false);
    readToolRoleResult(field(body, "messages"), ask);
    ask.prefillWords = prefillWords(field(body, "messages"));
    const auto& format = field(body, "response_format");
    readJsonFormat(format, field(field(format, "json_schema"), "schema"), ask);
    return ask;
}

ChatAsk askOfAnthropicMessages(const json& body) {
    ChatAsk ask;
    if (const auto& tools = field(body, "tools"); tools.is_array())
        for (const auto& tool : tools) {
            // Server tools (web_search_…, bash_…) carry a type; user tools none or "custom".
            const auto type = stringField(tool, "type");
            if ((type.empty() || type == "custom") && !stringField(tool, "name").empty())
                ask.tools.push_back({stringField(tool, "name"), field(tool, "input_schema")});
        }
    readToolChoice(field(body, "tool_choice"), ask, true);
    const auto& messages = field(body, "messages");
    if (messages.is_array() && !messages.empty() && field(messages.back(), "content").is_array())
        for (const auto& block : messages.back()["content"])
            if (stringField(block, "type") == "tool_result") ask.toolResult = textOfContent(field(block, "content"));
    return ask;
}

ChatAsk askOfResponses(const json& body) {
    ChatAsk ask;
    if (const auto& tools = field(body, "tools"); tools.is_array())
        for (const auto& tool : tools)
            if (stringField(tool, "type") == "function" && !stringField(tool, "name").empty())
                ask.tools.push_back({stringField(tool, "name"), field(tool, "parameters")});
    readToolChoice(field(body, "tool_choice"), ask, true);
    const auto& input = field(body, "input");
    if (input.is_array() && !input.empty() && stringField(input.back(), "type") == "function_call_output")
        ask.toolResult = textOfContent(field(input.back(), "output"));
    const auto& format = field(field(body, "text"), "format");
    readJsonFormat(format, field(format, "schema"), ask);
    return ask;
}

}  // namespace sluice::fake
