// JsonlSink on a real temporary folder: one line per record, a batch written
// again stored once (also after a restart), rotation by size, prompts only for
// opted-in records, a failed batch cut back whole, recovery when the path
// comes back, and rotated files removed past retention.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <cppunit/extensions/HelperMacros.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include "JsonlSink.h"

namespace {

namespace fs = std::filesystem;
using sluice::AuditRecord;
using sluice::audit::JsonlSink;
using sluice::audit::JsonlSinkSettings;
using namespace std::chrono_literals;

std::vector<std::string> linesOf(const fs::path& path) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::vector<std::string> idsIn(const fs::path& path) {
    std::vector<std::string> ids;
    for (const auto& line : linesOf(path)) ids.push_back(nlohmann::json::parse(line).at("request_id").get<std::string>());
    return ids;
}

AuditRecord record(const std::string& id, bool promptLogged = false,
                   std::chrono::system_clock::time_point time = std::chrono::system_clock::now()) {
    AuditRecord r;
    r.time = time;
    r.requestId = id;
    r.tenant = "acme";
    r.keyId = "k1";
    r.route = "/v1/chat/completions";
    r.requestedModel = "llama3";
    r.servedBackend = "gpu";
    r.servedModel = "llama3:8b";
    r.status = 200;
    r.tokensIn = 12;
    r.tokensOut = 34;
    r.latencyMs = 56.4;
    r.promptLogged = promptLogged;
    if (promptLogged) {
        r.prompt = "secret question " + id;
        r.answer = "answer " + id;
    }
    return r;
}

std::vector<AuditRecord> batch(int from, int count, bool promptLogged = false) {
    std::vector<AuditRecord> out;
    for (int i = from; i < from + count; ++i) out.push_back(record("req-" + std::to_string(i), promptLogged));
    return out;
}

class JsonlSinkTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(JsonlSinkTest);
    CPPUNIT_TEST(writesOneLinePerRecord);
    CPPUNIT_TEST(sameIdsAgainAreWrittenOnce);
    CPPUNIT_TEST(restartRemembersTheCurrentFile);
    CPPUNIT_TEST(rotatesBySizeKeepingAtMostKeep);
    CPPUNIT_TEST(promptsOnlyForPromptLogged);
    CPPUNIT_TEST(failedBatchIsCutBackWhole);
    CPPUNIT_TEST(unwritablePathFailsThenRecovers);
    CPPUNIT_TEST(maintainRemovesRotatedFilesPastRetention);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _dir = fs::temp_directory_path() / ("sluice-jsonl-" + std::to_string(::getpid()) + "-" + std::to_string(_next++));
        fs::create_directories(_dir);
        _settings = JsonlSinkSettings{};
        _settings.path = (_dir / "audit.jsonl").string();
        _settings.promptsPath = (_dir / "audit.jsonl.prompts").string();
    }
    void tearDown() override {
        std::error_code error;
        fs::permissions(_dir, fs::perms::owner_all, fs::perm_options::add, error);
        fs::remove_all(_dir, error);
    }

    void writesOneLinePerRecord() {
        JsonlSink sink(_settings);
        const auto result = sink.write(batch(0, 3));
        CPPUNIT_ASSERT_MESSAGE(result.error, result.ok);
        const auto lines = linesOf(_settings.path);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), lines.size());
        const auto first = nlohmann::json::parse(lines[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("req-0"), first.at("request_id").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("acme"), first.at("tenant").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("llama3:8b"), first.at("served_model").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(12LL, first.at("prompt_tokens").get<long long>());
        CPPUNIT_ASSERT_EQUAL(34LL, first.at("completion_tokens").get<long long>());
        CPPUNIT_ASSERT_EQUAL(56LL, first.at("latency_ms").get<long long>());
        CPPUNIT_ASSERT_EQUAL(std::string("ok"), first.at("outcome").get<std::string>());
        CPPUNIT_ASSERT(!first.contains("prompt"));
        CPPUNIT_ASSERT(!fs::exists(_settings.promptsPath));
    }

    void sameIdsAgainAreWrittenOnce() {
        JsonlSink sink(_settings);
        CPPUNIT_ASSERT(sink.write(batch(0, 5)).ok);
        CPPUNIT_ASSERT(sink.write(batch(0, 5)).ok);
        CPPUNIT_ASSERT(sink.write(batch(3, 4)).ok);  // 3 and 4 again, 5 and 6 new
        auto twice = batch(7, 1);
        twice.push_back(twice.front());  // the same id twice in one batch
        CPPUNIT_ASSERT(sink.write(twice).ok);
        const auto ids = idsIn(_settings.path);
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), ids.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), std::set<std::string>(ids.begin(), ids.end()).size());
    }

    void restartRemembersTheCurrentFile() {
        {
            JsonlSink sink(_settings);
            CPPUNIT_ASSERT(sink.write(batch(0, 4)).ok);
        }
        JsonlSink again(_settings);
        CPPUNIT_ASSERT(again.write(batch(2, 4)).ok);
        const auto ids = idsIn(_settings.path);
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), ids.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), std::set<std::string>(ids.begin(), ids.end()).size());
    }

    void rotatesBySizeKeepingAtMostKeep() {
        _settings.maxBytes = 4096;
        _settings.keep = 2;
        JsonlSink sink(_settings);
        std::vector<std::string> written;
        for (int i = 0; i < 200; i += 5) {
            CPPUNIT_ASSERT(sink.write(batch(i, 5)).ok);
            CPPUNIT_ASSERT(fs::file_size(_settings.path) <= _settings.maxBytes);
        }
        CPPUNIT_ASSERT(fs::exists(_settings.path + ".1"));
        CPPUNIT_ASSERT(fs::exists(_settings.path + ".2"));
        CPPUNIT_ASSERT(!fs::exists(_settings.path + ".3"));
        // The files hold the newest records in order, whole lines, none twice.
        std::vector<std::string> ids;
        for (const auto& file : {_settings.path + ".2", _settings.path + ".1", _settings.path}) {
            const auto some = idsIn(file);
            ids.insert(ids.end(), some.begin(), some.end());
        }
        CPPUNIT_ASSERT_EQUAL(std::string("req-199"), ids.back());
        for (std::size_t i = 1; i < ids.size(); ++i)
            CPPUNIT_ASSERT_EQUAL(std::stoi(ids[i - 1].substr(4)) + 1, std::stoi(ids[i].substr(4)));
    }

    void promptsOnlyForPromptLogged() {
        JsonlSink sink(_settings);
        auto mixed = batch(0, 2, false);
        const auto logged = batch(2, 2, true);
        mixed.insert(mixed.end(), logged.begin(), logged.end());
        CPPUNIT_ASSERT(sink.write(mixed).ok);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), linesOf(_settings.path).size());
        const auto prompts = linesOf(_settings.promptsPath);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), prompts.size());
        const auto first = nlohmann::json::parse(prompts[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("req-2"), first.at("request_id").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("secret question req-2"), first.at("prompt").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(std::string("answer req-2"), first.at("answer").get<std::string>());
        // Prompt text never reaches the audit file itself.
        for (const auto& line : linesOf(_settings.path)) CPPUNIT_ASSERT(line.find("secret question") == std::string::npos);
    }

    void failedBatchIsCutBackWhole() {
        JsonlSink sink(_settings);
        CPPUNIT_ASSERT(sink.write(batch(0, 3)).ok);
        const auto before = fs::file_size(_settings.path);
        // The prompts file cannot be opened: the records already appended for
        // this batch must go again.
        fs::create_directories(_settings.promptsPath);
        const auto failed = sink.write(batch(3, 3, true));
        CPPUNIT_ASSERT(!failed.ok);
        CPPUNIT_ASSERT(!failed.error.empty());
        CPPUNIT_ASSERT(failed.error.find('\n') == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(before, fs::file_size(_settings.path));
        // The path comes back: the same batch goes through, once.
        fs::remove(_settings.promptsPath);
        CPPUNIT_ASSERT(sink.write(batch(3, 3, true)).ok);
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), idsIn(_settings.path).size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), idsIn(_settings.promptsPath).size());
    }

    void unwritablePathFailsThenRecovers() {
        fs::create_directories(_settings.path);  // the path is a folder: nothing can be written
        JsonlSink sink(_settings);
        const auto failed = sink.write(batch(0, 2));
        CPPUNIT_ASSERT(!failed.ok);
        CPPUNIT_ASSERT_MESSAGE(failed.error, failed.error.find(_settings.path) != std::string::npos);
        fs::remove(_settings.path);
        CPPUNIT_ASSERT(sink.write(batch(0, 2)).ok);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), idsIn(_settings.path).size());
    }

    void maintainRemovesRotatedFilesPastRetention() {
        _settings.maxBytes = 4096;
        _settings.keep = 5;
        _settings.retentionDays = 10;
        _settings.promptRetentionDays = 2;
        const auto now = std::chrono::system_clock::now();
        JsonlSink sink(_settings);
        // Oldest first: 20 days old, then 5 days, then today; each fills a file.
        int id = 0;
        for (const auto age : {20 * 24h, 5 * 24h, 0h}) {
            std::vector<AuditRecord> records;
            for (int i = 0; i < 12; ++i) {
                records.push_back(record("req-" + std::to_string(id++), true, now - age));
                records.back().prompt = std::string(400, 'x');  // so the prompts file rotates with each batch too
            }
            CPPUNIT_ASSERT(sink.write(records).ok);
        }
        // current = today, .1 = 5 days, .2 = 20 days (each batch > max_bytes rotates).
        CPPUNIT_ASSERT(fs::exists(_settings.path + ".2"));
        CPPUNIT_ASSERT(fs::exists(_settings.promptsPath + ".2"));
        sink.maintain(now);
        CPPUNIT_ASSERT(fs::exists(_settings.path));
        CPPUNIT_ASSERT(fs::exists(_settings.path + ".1"));
        CPPUNIT_ASSERT(!fs::exists(_settings.path + ".2"));
        CPPUNIT_ASSERT(fs::exists(_settings.promptsPath));
        CPPUNIT_ASSERT(!fs::exists(_settings.promptsPath + ".1"));
        CPPUNIT_ASSERT(!fs::exists(_settings.promptsPath + ".2"));
    }

private:
    static inline int _next = 0;
    fs::path _dir;
    JsonlSinkSettings _settings;
};

CPPUNIT_TEST_SUITE_REGISTRATION(JsonlSinkTest);

} // namespace
