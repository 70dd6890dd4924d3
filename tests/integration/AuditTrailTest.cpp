// One request in every output of the audit trail, through the real gateway:
// the SQLite row as `sluicectl audit tail --json` prints it, the jsonl sink's
// line and the access log line name each field the same way, the store's
// column names; an answer whose backend reported no usage says
// tokens_estimated in each.

#include <fstream>
#include <set>

#include <cppunit/extensions/HelperMacros.h>
#include <nlohmann/json.hpp>

#include "ChildProcess.h"
#include "HttpClient.h"
#include "ScratchDir.h"
#include "TestHelpers.h"

namespace sluice::test {

namespace {

std::set<std::string> namesOf(const nlohmann::json& object) {
    std::set<std::string> names;
    for (const auto& [name, value] : object.items()) names.insert(name);
    return names;
}

} // namespace

class AuditTrailTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuditTrailTest);
    CPPUNIT_TEST(everyOutputUsesTheStoreNames);
    CPPUNIT_TEST(estimatedTokensShowInEveryOutput);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _dir = std::make_unique<ScratchDir>("sluice-audit-trail");
        _backend = std::make_unique<FakeBackend>("ollama", "gpu-box");
        _config = baseConfig() + "backends = gpu\n" + backendConfig("gpu", _backend->url()) +
                  "log.format = json\n"
                  "pipeline.audit = sqlite, jsonl\n"
                  "audit.flush_ms = 50\n"
                  "audit.sqlite.url = sqlite:" + (_dir->path / "audit.db").string() + "\n"
                  "audit.jsonl.path = " + (_dir->path / "audit.jsonl").string() + "\n"
                  "audit.spill_dir = " + (_dir->path / "spill").string() + "\n";
        std::ofstream(_dir->path / "sluice.properties") << _config;
        _gateway = std::make_unique<TestGateway>(_config);
    }
    void tearDown() override {
        _gateway.reset();
        _backend.reset();
        _dir.reset();
    }

    void everyOutputUsesTheStoreNames() {
        CPPUNIT_ASSERT_EQUAL(200, httpPost(_gateway->port(), "/api/chat", ollamaChat("llama3.2", true),
                                           {{"X-Request-ID", "one-record"}}).status);
        const auto stored = storedRecord("one-record");
        const auto filed = jsonlRecord("one-record");
        const auto logged = accessLine("one-record");
        CPPUNIT_ASSERT_MESSAGE(stored.dump(), stored.contains("client_address") && stored.contains("first_byte_ms"));
        CPPUNIT_ASSERT_EQUAL(std::string("gpu"), stored.at("served_backend").get<std::string>());
        // The jsonl line is the stored row, name for name and value for value.
        CPPUNIT_ASSERT_EQUAL(stored.dump(), filed.dump());
        // The access line: the same names and values but the request id and
        // time (the line's own, beside its level, logger, message and scheme).
        auto recordNames = namesOf(stored);
        for (const char* own : {"time", "at_ms", "request_id"}) recordNames.erase(own);
        auto lineNames = namesOf(logged);
        for (const char* own : {"time", "level", "logger", "request_id", "message", "scheme"}) lineNames.erase(own);
        CPPUNIT_ASSERT_MESSAGE(logged.dump(), recordNames == lineNames);
        for (const auto& name : recordNames)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, stored.at(name).dump(), logged.at(name).dump());
    }

    void estimatedTokensShowInEveryOutput() {
        // The first chat's stream ends without prompt_eval_count and eval_count.
        _backend->setRules({{{"path", "/api/chat"}, {"no_usage", true}, {"times", 1}}});
        const auto port = _gateway->port();
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", true), {{"X-Request-ID", "counted"}}).status);
        CPPUNIT_ASSERT_EQUAL(200, httpPost(port, "/api/chat", ollamaChat("llama3.2", true), {{"X-Request-ID", "reported"}}).status);

        const auto counted = storedRecord("counted");
        CPPUNIT_ASSERT_MESSAGE(counted.dump(), counted.at("tokens_estimated").get<bool>());
        // "why is the sky blue": 19 characters, 5 tokens; the answer's 46 characters, 12.
        CPPUNIT_ASSERT_EQUAL_MESSAGE(counted.dump(), 5, counted.at("prompt_tokens").get<int>());
        CPPUNIT_ASSERT_EQUAL_MESSAGE(counted.dump(), 12, counted.at("completion_tokens").get<int>());
        const auto reported = storedRecord("reported");
        CPPUNIT_ASSERT_MESSAGE(reported.dump(), !reported.at("tokens_estimated").get<bool>());
        CPPUNIT_ASSERT_EQUAL_MESSAGE(reported.dump(), 5, reported.at("completion_tokens").get<int>());  // the fake's chunks

        CPPUNIT_ASSERT(jsonlRecord("counted").at("tokens_estimated").get<bool>());
        CPPUNIT_ASSERT(!jsonlRecord("reported").at("tokens_estimated").get<bool>());
        CPPUNIT_ASSERT(accessLine("counted").at("tokens_estimated").get<bool>());
        CPPUNIT_ASSERT(!accessLine("reported").at("tokens_estimated").get<bool>());

        ChildProcess text(SLUICE_BIN_DIR "/sluicectl", {"--config", (_dir->path / "sluice.properties").string(), "audit", "tail"});
        CPPUNIT_ASSERT_EQUAL(0, text.waitForExit(std::chrono::seconds(15)).value_or(-1));
        const auto lines = text.output();
        CPPUNIT_ASSERT_MESSAGE(lines, lines.find("5+12 tokens (estimated)") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(lines, lines.find("5+5 tokens  ") != std::string::npos);
    }

private:
    // The row sluicectl prints for `id`, once the sink has written it.
    nlohmann::json storedRecord(const std::string& id) {
        nlohmann::json found;
        const bool seen = eventually([&] {
            ChildProcess ctl(SLUICE_BIN_DIR "/sluicectl",
                             {"--config", (_dir->path / "sluice.properties").string(), "--json", "audit", "tail"});
            if (ctl.waitForExit(std::chrono::seconds(15)).value_or(-1) != 0) return false;
            for (const auto& line : ndjsonLines(ctl.output()))
                if (line.is_object() && line.value("request_id", "") == id) found = line;
            return !found.is_null();
        });
        CPPUNIT_ASSERT_MESSAGE("no stored record " + id, seen);
        return found;
    }
    nlohmann::json jsonlRecord(const std::string& id) {
        auto found = jsonLineWithId(_dir->path / "audit.jsonl", id);
        CPPUNIT_ASSERT_MESSAGE("no audit record for " + id, !found.is_null());
        return found;
    }
    nlohmann::json accessLine(const std::string& id) {
        nlohmann::json found;
        CPPUNIT_ASSERT(eventually([&] {
            for (const auto& line : ndjsonLines(_gateway->output()))
                if (line.is_object() && line.value("logger", "") == "sluice.access" && line.value("request_id", "") == id)
                    found = line;
            return !found.is_null();
        }));
        return found;
    }

    std::unique_ptr<ScratchDir> _dir;
    std::unique_ptr<FakeBackend> _backend;
    std::string _config;
    std::unique_ptr<TestGateway> _gateway;
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuditTrailTest);

} // namespace sluice::test
