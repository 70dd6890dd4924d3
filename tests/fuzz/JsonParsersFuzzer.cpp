// libFuzzer target for the JSON the gateway reads fast: sluice::parseJson
// (simdjson's reading, nlohmann's tree), parseJsonFields, and the edits a
// pass-through makes on a client's bytes (kernel/dialect/BodyEdits).
//
// Invariants: parseJson gives exactly what nlohmann's parser under the
// depth bound gives (valid or not, the same tree, the same number types);
// parseJsonFields gives that tree's named fields, null for a value that is
// not an object, discarded for one that is not valid; an edit of a body
// either declines or gives valid JSON equal to the tree's edit, with every
// byte outside the edited member as it was. Nothing throws.
//
// Input layout: the whole input is the text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "FuzzSupport.h"
#include "dialect/BodyEdits.h"
#include "sluice/Json.h"
#include "TypedJson.h"

namespace {

using nlohmann::json;
using sluice::test::typedJson;
using sluice::fuzz::check;

void checkParse(std::string_view text) {
    json expected(json::value_t::discarded);
    // nlohmann takes a NUL for the end of its input; parseJson refuses it.
    if (sluice::jsonDepth(text) <= sluice::kMaxJsonDepth && text.find('\0') == std::string_view::npos)
        expected = json::parse(text.begin(), text.end(), nullptr, false);
    const auto tree = sluice::parseJson(text);
    check(expected.is_discarded() == tree.is_discarded(), "parseJson takes what nlohmann takes", text);
    if (expected.is_discarded()) {
        check(sluice::parseJsonFields(text, {"model"}).is_discarded(), "parseJsonFields refuses what parseJson refuses", text);
        return;
    }
    check(expected == tree && typedJson(expected) == typedJson(tree), "parseJson's tree is nlohmann's", text);
    const auto fields = sluice::parseJsonFields(text, {"model", "usage"});
    if (!expected.is_object()) return check(fields.is_null(), "parseJsonFields of a non-object is null", text);
    json wanted = json::object();
    for (const auto* key : {"model", "usage"})
        if (expected.contains(key)) wanted[key] = expected[key];
    check(fields == wanted && typedJson(fields) == typedJson(wanted), "parseJsonFields gives the named fields", text);

    const std::string served = "served:latest";
    if (const auto edited = sluice::kernel::withStringMember(text, "model", served)) {
        auto renamed = expected;
        renamed["model"] = served;
        check(sluice::parseJson(*edited) == renamed, "a renamed body is the tree's rename", *edited);
        const auto at = edited->find("\"" + served + "\"");
        check(at != std::string::npos && text.substr(0, at) == std::string_view(*edited).substr(0, at),
              "a rename keeps the bytes before the value", *edited);
        const auto tail = edited->size() - at - served.size() - 2;
        check(text.substr(text.size() - tail) == std::string_view(*edited).substr(edited->size() - tail),
              "a rename keeps the bytes after the value", *edited);
    }
    if (expected.is_object() && !expected.contains("stream_options")) {
        if (const auto edited = sluice::kernel::withFirstMember(text, R"("stream_options":{"include_usage":true})")) {
            auto asked = expected;
            asked["stream_options"] = {{"include_usage", true}};
            check(sluice::parseJson(*edited) == asked, "an added member is the tree's addition", *edited);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    checkParse(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
