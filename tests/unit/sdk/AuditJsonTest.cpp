// AuditJson: one vocabulary for every output of the audit trail. Its names
// are the store's audit_records columns, read from a freshly migrated SQLite
// file (a column added to the schema and not here, or the reverse, fails);
// prompt text only where asked for; a line reads back to the same record;
// the names spill files used before ABI 4.0 still read.

#include <cppunit/extensions/HelperMacros.h>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include "ScratchDir.h"
#include "sluice/AuditJson.h"
#include "sluice/store/Database.h"
#include "sluice/store/Migrations.h"

namespace {

using sluice::AuditRecord;
using sluice::AuditText;

AuditRecord sample() {
    AuditRecord record;
    record.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1763900000123));
    record.requestId = "id-1";
    record.tenant = "acme";
    record.keyId = "k1";
    record.clientAddress = "10.0.0.1";
    record.route = "/v1/chat/completions";
    record.requestedModel = "team/long";
    record.servedBackend = "gpu";
    record.servedModel = "llama3.2";
    record.alias = "team/long";
    record.status = 200;
    record.failovers = 2;
    record.tokensIn = 11;
    record.tokensOut = 22;
    record.tokensEstimated = true;
    record.retries = 1;
    record.continuedBy = "cloud/gpt-4o-mini";
    record.queueMs = 1500;
    record.timeToFirstByteMs = 12.5;
    record.latencyMs = 99.25;
    record.bytesIn = 100;
    record.bytesOut = 200;
    record.outcome = sluice::Outcome::ClientCancel;
    record.promptLogged = true;
    record.prompt = R"([{"role":"user","content":"hi"}])";
    record.answer = "hello";
    return record;
}

class AuditJsonTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuditJsonTest);
    CPPUNIT_TEST(namesAreTheStoreColumns);
    CPPUNIT_TEST(isoTimeIsRightSecondAfterSecond);
    CPPUNIT_TEST(promptTextOnlyWhereAskedFor);
    CPPUNIT_TEST(aLineReadsBackToTheSameRecord);
    CPPUNIT_TEST(readsTheNamesOfThePreviousVersion);
    CPPUNIT_TEST(otherLinesAreNotRecords);
    CPPUNIT_TEST_SUITE_END();

public:
    // isoTime keeps each thread's last second formatted: its answers are
    // the same as a fresh formatting's, in and across seconds, and back.
    void isoTimeIsRightSecondAfterSecond() {
        CPPUNIT_ASSERT_EQUAL(std::string("1970-01-01T00:00:00.000Z"), sluice::isoTime(0));
        CPPUNIT_ASSERT_EQUAL(std::string("2025-11-23T12:13:20.123Z"), sluice::isoTime(1763900000123));
        CPPUNIT_ASSERT_EQUAL(std::string("2025-11-23T12:13:20.999Z"), sluice::isoTime(1763900000999));
        CPPUNIT_ASSERT_EQUAL(std::string("2025-11-23T12:13:21.005Z"), sluice::isoTime(1763900001005));
        CPPUNIT_ASSERT_EQUAL(std::string("2025-11-23T12:13:19.000Z"), sluice::isoTime(1763899999000));
    }

    void namesAreTheStoreColumns() {
        sluice::test::ScratchDir dir("sluice-audit-json");
        sluice::store::Database db(sluice::store::StoreUrl::parse("sqlite:" + (dir.path / "store.db").string()), 1);
        sluice::store::migrate(db);
        std::vector<std::string> columns;
        {
            auto session = db.session();
            Poco::Data::Statement select(session);
            select << "PRAGMA table_info(audit_records)", Poco::Data::Keywords::now;
            Poco::Data::RecordSet rows(select);
            for (bool more = rows.moveFirst(); more; more = rows.moveNext())
                columns.push_back(rows.value("name").convert<std::string>());
        }
        std::vector<std::string> fields;
        const auto json = sluice::auditRecordJson(sample());
        for (const auto& [name, value] : json.items())
            if (name != "time") fields.push_back(name);  // the one field that is not a column: at_ms as text
        CPPUNIT_ASSERT_EQUAL(columns.size(), fields.size());
        for (std::size_t i = 0; i < columns.size(); ++i) CPPUNIT_ASSERT_EQUAL(columns[i], fields[i]);
    }

    void promptTextOnlyWhereAskedFor() {
        auto record = sample();
        const auto plain = sluice::auditRecordJson(record);
        for (const char* name : {"prompt", "answer", "prompt_logged"}) CPPUNIT_ASSERT(!plain.contains(name));
        const auto spilled = sluice::auditRecordJson(record, AuditText::Include);
        CPPUNIT_ASSERT_EQUAL(record.prompt, spilled.at("prompt").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(record.answer, spilled.at("answer").get<std::string>());
        record.promptLogged = false;
        CPPUNIT_ASSERT(!sluice::auditRecordJson(record, AuditText::Include).contains("prompt"));

        const auto prompt = sluice::auditPromptJson(sample());
        std::vector<std::string> names;
        for (const auto& [name, value] : prompt.items()) names.push_back(name);
        CPPUNIT_ASSERT(names == std::vector<std::string>({"time", "request_id", "at_ms", "tenant", "prompt", "answer"}));
        CPPUNIT_ASSERT_EQUAL(std::string("2025-11-23T12:13:20.123Z"), prompt.at("time").get<std::string>());
    }

    void aLineReadsBackToTheSameRecord() {
        const auto line = sluice::auditRecordJson(sample(), AuditText::Include).dump();
        const auto back = sluice::auditRecordFromJson(nlohmann::json::parse(line));
        CPPUNIT_ASSERT(back);
        CPPUNIT_ASSERT_EQUAL(line, sluice::auditRecordJson(*back, AuditText::Include).dump());
        CPPUNIT_ASSERT(back->time == sample().time);
        CPPUNIT_ASSERT(back->outcome == sluice::Outcome::ClientCancel);
        CPPUNIT_ASSERT(back->tokensEstimated);
        // Times are whole milliseconds, as the store keeps them.
        CPPUNIT_ASSERT_EQUAL(13.0, back->timeToFirstByteMs);
        CPPUNIT_ASSERT_EQUAL(99.0, back->latencyMs);
    }

    // A spill line exactly as sluiced wrote it before ABI 4.0.
    void readsTheNamesOfThePreviousVersion() {
        const auto old = sluice::auditRecordFromJson(nlohmann::json::parse(
            R"({"alias":"team/long","answer":"hello","backend":"gpu","bytes_in":100,"bytes_out":200,"client":"10.0.0.1",)"
            R"("failovers":2,"key_id":"k1","latency_ms":99.25,"model":"team/long","outcome":"client-cancel",)"
            R"("prompt":"[{\"role\":\"user\",\"content\":\"hi\"}]","prompt_logged":true,"request_id":"id-1",)"
            R"("route":"/v1/chat/completions","served_model":"llama3.2","status":200,"tenant":"acme",)"
            R"("time_ms":1763900000123,"tokens_in":11,"tokens_out":22,"ttfb_ms":12.5})"));
        CPPUNIT_ASSERT(old);
        auto expected = sample();
        CPPUNIT_ASSERT(!old->tokensEstimated);  // no such field then: reported, as before
        expected.tokensEstimated = false;
        // Nor these (schema 3): no retries, no continuation.
        CPPUNIT_ASSERT_EQUAL(0, old->retries);
        CPPUNIT_ASSERT(old->continuedBy.empty());
        expected.retries = 0;
        expected.continuedBy.clear();
        // Nor this (schema 4): no wait in the queue.
        CPPUNIT_ASSERT_EQUAL(std::int64_t{0}, old->queueMs);
        expected.queueMs = 0;
        CPPUNIT_ASSERT(old->time == expected.time);
        CPPUNIT_ASSERT_EQUAL(expected.clientAddress, old->clientAddress);
        CPPUNIT_ASSERT_EQUAL(expected.requestedModel, old->requestedModel);
        CPPUNIT_ASSERT_EQUAL(expected.servedBackend, old->servedBackend);
        CPPUNIT_ASSERT_EQUAL(expected.tokensIn, old->tokensIn);
        CPPUNIT_ASSERT_EQUAL(expected.tokensOut, old->tokensOut);
        CPPUNIT_ASSERT_EQUAL(expected.timeToFirstByteMs, old->timeToFirstByteMs);
        CPPUNIT_ASSERT_EQUAL(expected.latencyMs, old->latencyMs);
        // What the rename did not touch reads as before.
        CPPUNIT_ASSERT_EQUAL(sluice::auditRecordJson(expected, AuditText::Include).dump(),
                             sluice::auditRecordJson(*old, AuditText::Include).dump());
    }

    void otherLinesAreNotRecords() {
        CPPUNIT_ASSERT(!sluice::auditRecordFromJson(nlohmann::json::parse(R"({"other":1})")));
        CPPUNIT_ASSERT(!sluice::auditRecordFromJson(nlohmann::json::parse(R"({"request_id":"x","status":"two hundred"})")));
        CPPUNIT_ASSERT(!sluice::auditRecordFromJson(nlohmann::json::parse(R"(["request_id"])")));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuditJsonTest);

} // namespace
