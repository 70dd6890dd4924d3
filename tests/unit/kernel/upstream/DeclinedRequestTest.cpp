// declinedClassOf: which class of client error (the prompt is too long, the
// content policy refused it) a backend's 4xx answer is, as OpenAI, Azure,
// vLLM, Anthropic, Ollama and llama.cpp spell it; nothing for other errors.
#include <cppunit/extensions/HelperMacros.h>

#include <optional>
#include <string>

#include "upstream/DeclinedRequest.h"

namespace {

using sluice::FallbackOn;
using sluice::kernel::declinedClassOf;

std::string nameOf(const std::optional<FallbackOn>& kind) {
    if (!kind) return "none";
    return *kind == FallbackOn::ContextLength ? "context_length" : *kind == FallbackOn::ContentFilter ? "content_filter" : "?";
}

// The class of `body` at `status`, by name, so a mismatch shows both.
void expectClass(const char* expected, int status, const std::string& body) {
    CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(status) + " " + body, std::string(expected), nameOf(declinedClassOf(status, body)));
}

class DeclinedRequestTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DeclinedRequestTest);
    CPPUNIT_TEST(openAiContextLengthCode);
    CPPUNIT_TEST(openAiContentPolicyCode);
    CPPUNIT_TEST(contentFilterAsCodeOrType);
    CPPUNIT_TEST(vllmMaximumContextLengthMessage);
    CPPUNIT_TEST(anthropicPromptIsTooLong);
    CPPUNIT_TEST(ollamaStringError);
    CPPUNIT_TEST(llamaCppAvailableContextSize);
    CPPUNIT_TEST(otherClientErrorsAreNoClass);
    CPPUNIT_TEST(onlyA4xxIsDeclined);
    CPPUNIT_TEST(aBodyThatIsNotJsonIsReadAsItsText);
    CPPUNIT_TEST_SUITE_END();

public:
    void openAiContextLengthCode() {
        expectClass("context_length", 400,
                    R"({"error":{"message":"Please reduce the length of the messages.","type":"invalid_request_error",)"
                    R"("param":"messages","code":"context_length_exceeded"}})");
        // The code alone decides: the message says nothing about a context.
        expectClass("context_length", 400, R"({"error":{"message":"Request rejected.","code":"context_length_exceeded"}})");
        expectClass("context_length", 400, R"({"error":{"message":"x","code":"CONTEXT_LENGTH_EXCEEDED"}})");
    }

    void openAiContentPolicyCode() {
        expectClass("content_filter", 400,
                    R"({"error":{"message":"Your request was rejected as a result of our safety system.",)"
                    R"("type":"invalid_request_error","param":null,"code":"content_policy_violation"}})");
    }

    void contentFilterAsCodeOrType() {
        expectClass("content_filter", 400, R"({"error":{"message":"Blocked.","code":"content_filter","param":"prompt"}})");
        expectClass("content_filter", 400, R"({"error":{"message":"Blocked.","type":"content_filter"}})");
        // Azure's own wording, with its code.
        expectClass("content_filter", 400,
                    R"({"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's )"
                    R"(content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}})");
    }

    void vllmMaximumContextLengthMessage() {
        // vLLM's error object, with a number for a code.
        expectClass("context_length", 400,
                    R"({"error":{"message":"This model's maximum context length is 4096 tokens. However, you requested )"
                    R"(5000 tokens (4000 in the messages, 1000 in the completion).","type":"BadRequestError",)"
                    R"("param":null,"code":400}})");
        // Its older top-level shape.
        expectClass("context_length", 400,
                    R"({"object":"error","message":"This model's maximum context length is 4096 tokens. However, you )"
                    R"(requested 5000 tokens.","type":"BadRequestError","param":null,"code":400})");
    }

    void anthropicPromptIsTooLong() {
        expectClass("context_length", 400,
                    R"({"type":"error","error":{"type":"invalid_request_error",)"
                    R"("message":"prompt is too long: 210000 tokens > 200000 maximum"}})");
    }

    void ollamaStringError() {
        expectClass("context_length", 400, R"({"error":"the input length exceeds the context length"})");
    }

    void llamaCppAvailableContextSize() {
        expectClass("context_length", 400,
                    R"({"error":{"code":400,"message":"the request exceeds the available context size, try increasing it",)"
                    R"("type":"exceed_context_size_error","n_prompt_tokens":5000,"n_ctx":4096}})");
        expectClass("context_length", 400, R"({"error":{"code":400,"message":"the request exceeds the available context size"}})");
    }

    void otherClientErrorsAreNoClass() {
        expectClass("none", 400, R"({"error":{"message":"invalid model","type":"invalid_request_error"}})");
        expectClass("none", 400, R"({"error":"invalid model"})");
        expectClass("none", 404, R"({"error":{"message":"The model `gpt-9` does not exist","code":"model_not_found"}})");
        expectClass("none", 422, R"({"error":{"message":"temperature must be between 0 and 2","code":"invalid_value"}})");
        expectClass("none", 400, "");
        expectClass("none", 400, "Bad Request");
    }

    void onlyA4xxIsDeclined() {
        // The same words at another status are not a declined request.
        const std::string tooLong = R"({"error":{"message":"x","code":"context_length_exceeded"}})";
        const std::string policy = R"({"error":"refused by the content policy"})";
        expectClass("none", 500, tooLong);
        expectClass("none", 500, R"({"error":"the input length exceeds the context length"})");
        expectClass("none", 503, policy);
        expectClass("none", 200, tooLong);
        expectClass("none", 399, tooLong);
        expectClass("context_length", 499, tooLong);
        expectClass("content_filter", 403, policy);
    }

    void aBodyThatIsNotJsonIsReadAsItsText() {
        expectClass("context_length", 400, "Error: prompt exceeds the Context Length of this model");
        expectClass("content_filter", 400, "<html>Blocked by the content filter</html>");
        expectClass("none", 400, "<html>Bad Request</html>");
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(DeclinedRequestTest);

} // namespace
