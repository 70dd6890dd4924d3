// BodyEdits: an edit made on the client's bytes gives the same value as the
// edit of its tree, leaves every other byte as it was, and declines the
// bodies it cannot edit surely (the tree's edit then runs).
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "dialect/BodyEdits.h"
#include "sluice/Json.h"

namespace {

using nlohmann::json;
using sluice::kernel::withFirstMember;
using sluice::kernel::withStringMember;

const std::string kServed = "llama3.2:latest";

class BodyEditsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(BodyEditsTest);
    CPPUNIT_TEST(renamesTheTopLevelModelOnly);
    CPPUNIT_TEST(declinesWhatItCannotEditSurely);
    CPPUNIT_TEST(addsAFirstMember);
    CPPUNIT_TEST_SUITE_END();

public:
    void renamesTheTopLevelModelOnly() {
        for (const std::string& body : std::vector<std::string>{
                 R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}]})",
                 // Spaces kept, and "model" where it is not the top-level key.
                 " {\n  \"messages\" : [ {\"role\":\"user\",\"content\":\"say \\\"model\\\": \\\"x\\\"\"} ],\n  \"model\" : \"llama3.2\" ,\"stream\":true}\n",
                 R"({"options":{"model":"inner"},"tools":[{"model":"t"}],"model":"llama3.2"})",
                 R"({"model":"ll\"ama\\"})",  // escapes in the value
                 R"({"a":"model","model":"m","b":{"c":["model"]}})",
             }) {
            const auto edited = withStringMember(body, "model", kServed);
            CPPUNIT_ASSERT_MESSAGE(body, edited.has_value());
            auto expected = sluice::parseJson(body);
            expected["model"] = kServed;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, expected, sluice::parseJson(*edited));
            // Every byte but the value's is the client's.
            const auto at = edited->find("\"" + kServed + "\"");
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, body.substr(0, at), edited->substr(0, at));
            const auto tail = edited->size() - at - kServed.size() - 2;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(body, body.substr(body.size() - tail), edited->substr(edited->size() - tail));
        }
        // The served name is written as a JSON string.
        const auto quoted = withStringMember(R"({"model":"m"})", "model", "a\"b\\c");
        CPPUNIT_ASSERT(quoted);
        CPPUNIT_ASSERT_EQUAL(std::string("a\"b\\c"), sluice::parseJson(*quoted)["model"].get<std::string>());
    }

    void declinesWhatItCannotEditSurely() {
        for (const std::string& body : std::vector<std::string>{
                 R"({"mod\u0065l":"m"})",                 // the key spelled with an escape
                 R"({"model":"a","model":"b"})",          // twice
                 R"({"model":5})", R"({"model":null})",  // not a string
                 R"({"messages":[]})",                    // none
                 R"(["model","m"])", "", "  ",           // not an object
             })
            CPPUNIT_ASSERT_MESSAGE(body, !withStringMember(body, "model", kServed).has_value());
    }

    void addsAFirstMember() {
        const std::string body = " {\"model\":\"m\",\"stream\":true}";
        const auto edited = withFirstMember(body, R"("stream_options":{"include_usage":true})");
        CPPUNIT_ASSERT(edited);
        auto expected = sluice::parseJson(body);
        expected["stream_options"]["include_usage"] = true;
        CPPUNIT_ASSERT_EQUAL(expected, sluice::parseJson(*edited));
        CPPUNIT_ASSERT(!withFirstMember("{ }", R"("a":1)"));
        CPPUNIT_ASSERT(!withFirstMember("[1]", R"("a":1)"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BodyEditsTest);

} // namespace
