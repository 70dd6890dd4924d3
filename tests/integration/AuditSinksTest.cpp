// The sqlite and postgresql audit sinks against real databases (a SQLite file
// and a PostgreSQL started on loopback for this suite), and sluicectl reading
// what they wrote: a batch stored once however often it comes, prompt text
// only for opted-in records, purge by retention with a tenant's own, a write
// while the database is down or locked failing cleanly and the next one
// succeeding by itself once it is back.

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include <cppunit/extensions/HelperMacros.h>
#include <nlohmann/json.hpp>

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <Poco/Path.h>
#include <Poco/TemporaryFile.h>

#include "ChildProcess.h"
#include "DatabaseSink.h"
#include "PostgresServer.h"
#include "sluice/AuditJson.h"
#include "sluice/store/AuditStore.h"
#include "sluice/store/Database.h"
#include "sluice/store/Migrations.h"

namespace sluice::test {

namespace {

using namespace std::chrono_literals;
using audit::DatabaseSink;
using audit::DatabaseSinkSettings;
using Poco::Data::Keywords::now;
using Poco::Data::Keywords::use;
using store::Engine;
using store::StoreUrl;

std::atomic<int> counter{0};

std::string unique(const std::string& prefix) {
    return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// One PostgreSQL for the suite, migrated once.
PostgresServer& postgres() {
    static PostgresServer server;
    static const bool migrated = [] {
        store::Database db(StoreUrl::parse(server.url()), 1);
        store::migrate(db);
        return true;
    }();
    (void)migrated;
    return server;
}

AuditRecord record(const std::string& id, const std::string& tenant, bool promptLogged = false,
                   std::chrono::system_clock::time_point time = std::chrono::system_clock::now()) {
    AuditRecord r;
    r.time = time;
    r.requestId = id;
    r.tenant = tenant;
    r.keyId = "key-" + tenant;
    r.clientAddress = "127.0.0.1";
    r.route = "/v1/chat/completions";
    r.requestedModel = "llama3";
    r.servedBackend = "gpu";
    r.servedModel = "llama3:8b";
    r.status = 200;
    r.tokensIn = 10;
    r.tokensOut = 20;
    r.latencyMs = 42;
    r.promptLogged = promptLogged;
    if (promptLogged) {
        r.prompt = "the prompt of " + id;
        r.answer = "the answer to " + id;
    }
    return r;
}

std::vector<AuditRecord> batch(const std::string& prefix, int count, const std::string& tenant, bool promptLogged = false) {
    std::vector<AuditRecord> out;
    for (int i = 0; i < count; ++i) out.push_back(record(prefix + "-" + std::to_string(i), tenant, promptLogged));
    return out;
}

// Rows in `table` whose request id starts with `prefix`.
long long countOf(const std::string& url, const std::string& table, const std::string& prefix) {
    store::Database db(StoreUrl::parse(url), 1);
    auto session = db.session();
    std::string pattern = prefix + "%";
    Poco::Data::Statement select(session);
    select << db.sql("SELECT COUNT(*) FROM " + table + " WHERE request_id LIKE ?"), use(pattern), now;
    Poco::Data::RecordSet rows(select);
    rows.moveFirst();
    return rows.value(0).convert<long long>();
}

std::set<std::string> idsIn(const std::string& url, const std::string& table, const std::string& prefix) {
    store::Database db(StoreUrl::parse(url), 1);
    auto session = db.session();
    std::string pattern = prefix + "%";
    Poco::Data::Statement select(session);
    select << db.sql("SELECT request_id FROM " + table + " WHERE request_id LIKE ?"), use(pattern), now;
    Poco::Data::RecordSet rows(select);
    std::set<std::string> ids;
    for (bool more = rows.moveFirst(); more; more = rows.moveNext()) ids.insert(rows.value(0).convert<std::string>());
    return ids;
}

struct CtlResult {
    int code = -1;
    std::string output;
};

CtlResult sluicectl(const std::string& configPath, const std::vector<std::string>& args) {
    std::vector<std::string> all{"--config", configPath};
    all.insert(all.end(), args.begin(), args.end());
    ChildProcess process(SLUICE_BIN_DIR "/sluicectl", all);
    CtlResult result;
    result.code = process.waitForExit(30s).value_or(-1);
    result.output = process.output();
    return result;
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t at = 0;
    while (at < text.size()) {
        auto end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        if (end > at) out.push_back(text.substr(at, end - at));
        at = end + 1;
    }
    return out;
}

class AuditSinksTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AuditSinksTest);
    CPPUNIT_TEST(sqliteStoresABatchOnce);
    CPPUNIT_TEST(postgresStoresABatchOnce);
    CPPUNIT_TEST(sqlitePurgesByRetention);
    CPPUNIT_TEST(postgresPurgesByRetention);
    CPPUNIT_TEST(postgresDownFailsThenRecovers);
    CPPUNIT_TEST(postgresTakesAnyTextAndLargeBatches);
    CPPUNIT_TEST(sqliteLockedFailsThenRecovers);
    CPPUNIT_TEST(sluicectlReadsSqlite);
    CPPUNIT_TEST(sluicectlReadsPostgres);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        _dir = Poco::Path::temp() + unique("sluice-audit");
        Poco::TemporaryFile::registerForDeletion(_dir);
        _sqliteUrl = "sqlite:" + _dir + "/sluice.db";
    }

    // Text PostgreSQL refuses (a NUL byte: "model": "a\u0000b" in a request;
    // bytes that are not UTF-8, from a backend) is stored with U+FFFD in
    // their place, never failing its batch: a batch that fails is retried
    // for ever, and before the fix a row refused after one written crashed
    // the gateway (Poco freed the earlier row's result twice). And a batch
    // larger than one INSERT's rows (250) is stored whole.
    void postgresTakesAnyTextAndLargeBatches() {
        DatabaseSink sink(settingsFor(postgres().url()));
        const auto prefix = unique("text");
        auto records = batch(prefix + "-plain", 1, "acme");
        auto odd = record(prefix + "-odd", "acme", true);
        odd.requestedModel = std::string("a\0b", 3);
        odd.prompt = "caf\xC3\xA9 \xFF\xFE ok";
        odd.answer = std::string("cut \xE2\x82", 6);
        records.push_back(odd);
        const auto written = sink.write(records);
        CPPUNIT_ASSERT_MESSAGE(written.error, written.ok);
        store::Database db(StoreUrl::parse(postgres().url()), 1);
        store::AuditQuery query;
        query.tenant = "acme";
        query.limit = 100000;
        bool found = false;
        for (const auto& row : store::AuditStore(db).tail(query))
            if (row.requestId == prefix + "-odd") {
                found = true;
                CPPUNIT_ASSERT_EQUAL(std::string("a\xEF\xBF\xBD" "b"), row.requestedModel);
            }
        CPPUNIT_ASSERT(found);
        CPPUNIT_ASSERT_EQUAL(1LL, countOf(postgres().url(), "audit_prompts", prefix + "-odd"));
        const auto large = batch(prefix + "-large", 1200, "acme", true);
        const auto stored = sink.write(large);
        CPPUNIT_ASSERT_MESSAGE(stored.error, stored.ok);
        CPPUNIT_ASSERT_EQUAL(1200LL, countOf(postgres().url(), "audit_records", prefix + "-large"));
        CPPUNIT_ASSERT_EQUAL(1200LL, countOf(postgres().url(), "audit_prompts", prefix + "-large"));
        CPPUNIT_ASSERT(sink.write(large).ok);  // again: each row once
        CPPUNIT_ASSERT_EQUAL(1200LL, countOf(postgres().url(), "audit_records", prefix + "-large"));
    }

    void sqliteStoresABatchOnce() { storesABatchOnce(_sqliteUrl); }
    void postgresStoresABatchOnce() { storesABatchOnce(postgres().url()); }
    void sqlitePurgesByRetention() { purgesByRetention(_sqliteUrl); }
    void postgresPurgesByRetention() { purgesByRetention(postgres().url()); }

    void postgresDownFailsThenRecovers() {
        auto& server = postgres();
        DatabaseSink sink(settingsFor(server.url()));
        const auto prefix = unique("down");
        CPPUNIT_ASSERT(sink.write(batch(prefix + "-a", 5, "t")).ok);
        server.stop();
        SinkResult failed;
        try {
            failed = sink.write(batch(prefix + "-b", 5, "t"));
        } catch (...) {
            server.start();
            CPPUNIT_FAIL("write threw while PostgreSQL was down");
        }
        server.start();
        CPPUNIT_ASSERT(!failed.ok);
        CPPUNIT_ASSERT(!failed.error.empty());
        CPPUNIT_ASSERT_MESSAGE(failed.error, failed.error.find('\n') == std::string::npos);
        // The same sink, no help: the next write reconnects.
        const auto retried = sink.write(batch(prefix + "-b", 5, "t"));
        CPPUNIT_ASSERT_MESSAGE(retried.error, retried.ok);
        CPPUNIT_ASSERT_EQUAL(10LL, countOf(server.url(), "audit_records", prefix));
    }

    void sqliteLockedFailsThenRecovers() {
        DatabaseSink sink(settingsFor(_sqliteUrl));
        const auto prefix = unique("locked");
        CPPUNIT_ASSERT(sink.write(batch(prefix + "-a", 3, "t")).ok);
        {
            // Another connection holds the write lock.
            Poco::Data::SQLite::Connector::registerConnector();
            Poco::Data::Session other("SQLite", _dir + "/sluice.db");
            other << "BEGIN IMMEDIATE", now;
            other << "INSERT INTO tenants (name, created_at, updated_at) VALUES ('holder', 0, 0)", now;
            const auto failed = sink.write(batch(prefix + "-b", 3, "t"));
            CPPUNIT_ASSERT(!failed.ok);
            CPPUNIT_ASSERT_MESSAGE(failed.error, !failed.error.empty());
            other << "COMMIT", now;
        }
        const auto retried = sink.write(batch(prefix + "-b", 3, "t"));
        CPPUNIT_ASSERT_MESSAGE(retried.error, retried.ok);
        CPPUNIT_ASSERT_EQUAL(6LL, countOf(_sqliteUrl, "audit_records", prefix));
    }

    void sluicectlReadsSqlite() { sluicectlReads(_sqliteUrl); }
    void sluicectlReadsPostgres() { sluicectlReads(postgres().url()); }

private:
    static DatabaseSinkSettings settingsFor(const std::string& url) {
        DatabaseSinkSettings settings;
        settings.url = StoreUrl::parse(url);
        return settings;
    }

    void storesABatchOnce(const std::string& url) {
        DatabaseSink sink(settingsFor(url));
        const auto prefix = unique("once");
        auto records = batch(prefix + "-plain", 4, "acme");
        const auto logged = batch(prefix + "-logged", 3, "acme", true);
        records.insert(records.end(), logged.begin(), logged.end());
        const auto first = sink.write(records);
        CPPUNIT_ASSERT_MESSAGE(first.error, first.ok);
        const auto again = sink.write(records);
        CPPUNIT_ASSERT_MESSAGE(again.error, again.ok);
        // Part old, part new, as a replay after a partial failure would send.
        auto mixed = batch(prefix + "-plain", 6, "acme");
        CPPUNIT_ASSERT(sink.write(mixed).ok);

        CPPUNIT_ASSERT_EQUAL(9LL, countOf(url, "audit_records", prefix));
        CPPUNIT_ASSERT_EQUAL(3LL, countOf(url, "audit_prompts", prefix));
        CPPUNIT_ASSERT(idsIn(url, "audit_prompts", prefix) == idsIn(url, "audit_records", prefix + "-logged"));

        // The columns hold what the record said.
        store::Database db(StoreUrl::parse(url), 1);
        store::AuditQuery query;
        query.tenant = "acme";
        query.limit = 100000;
        const auto rows = store::AuditStore(db).tail(query);
        bool found = false;
        for (const auto& row : rows) {
            if (row.requestId != prefix + "-logged-0") continue;
            found = true;
            CPPUNIT_ASSERT_EQUAL(std::string("key-acme"), row.keyId);
            CPPUNIT_ASSERT_EQUAL(std::string("llama3:8b"), row.servedModel);
            CPPUNIT_ASSERT_EQUAL(200, row.status);
            CPPUNIT_ASSERT_EQUAL(10LL, row.promptTokens);
            CPPUNIT_ASSERT_EQUAL(20LL, row.completionTokens);
            CPPUNIT_ASSERT_EQUAL(42LL, row.latencyMs);
            CPPUNIT_ASSERT_EQUAL(std::string("ok"), row.outcome);
        }
        CPPUNIT_ASSERT(found);
    }

    void purgesByRetention(const std::string& url) {
        const auto nowTime = std::chrono::system_clock::now();
        const auto prefix = unique("purge");
        const auto plain = unique("plain");  // no tenants row: the defaults
        const auto brief = unique("brief");  // audit 5 days, prompts 1 day
        const auto zero = unique("zero");    // 0 in the tenants row: the defaults
        auto at = [&](const std::string& name, const std::string& tenant, std::chrono::hours age) {
            return record(prefix + "-" + name, tenant, true, nowTime - age);
        };
        const std::vector<AuditRecord> records = {
            at("plain-400d", plain, 400 * 24h), at("plain-300d", plain, 300 * 24h), at("plain-40d", plain, 40 * 24h),
            at("plain-20d", plain, 20 * 24h),   at("zero-400d", zero, 400 * 24h),   at("zero-20d", zero, 20 * 24h),
            at("brief-6d", brief, 6 * 24h),     at("brief-4d", brief, 4 * 24h),     at("brief-2d", brief, 2 * 24h),
            at("brief-12h", brief, 12h)};

        auto settings = settingsFor(url);
        settings.retention.batch = 2;  // several statements per table
        settings.retention.maxStatements = 100;
        DatabaseSink sink(settings);
        CPPUNIT_ASSERT(sink.write(records).ok);  // a new SQLite file is migrated here
        // The tenants' own retention, set as an operator sets it.
        Poco::TemporaryFile config;
        std::ofstream(config.path()) << "store.url = " << url << "\n";
        auto created = sluicectl(config.path(), {"--json", "tenants", "create", brief, "--audit-retention", "5",
                                                 "--prompt-retention", "1"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(created.output, 0, created.code);
        // stdout's tenant, then stderr's note that it may use no model yet.
        const auto shown = nlohmann::json::parse(lines(created.output).front());
        CPPUNIT_ASSERT_EQUAL(5, shown.at("audit_retention_days").get<int>());
        CPPUNIT_ASSERT_EQUAL(1, shown.at("prompt_retention_days").get<int>());
        CPPUNIT_ASSERT_EQUAL(0, sluicectl(config.path(), {"tenants", "create", zero, "--audit-retention", "3"}).code);
        // Back to the gateway's default.
        const auto reset = sluicectl(config.path(), {"--json", "tenants", "set", zero, "--audit-retention", "0"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(reset.output, 0, reset.code);
        CPPUNIT_ASSERT(nlohmann::json::parse(lines(reset.output).front()).at("audit_retention_days").is_null());
        CPPUNIT_ASSERT_EQUAL(2, sluicectl(config.path(), {"tenants", "set", zero, "--prompt-retention", "-1"}).code);

        // A bounded call stops after its statements and says there is more.
        store::Database db(StoreUrl::parse(url), 1);
        const auto bounded = store::AuditStore(db).purge(sluice::epochMillis(nowTime), {365, 30, 1, 1});
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), bounded.records);
        CPPUNIT_ASSERT(bounded.more);

        sink.maintain(nowTime);
        const std::set<std::string> keptRecords = {prefix + "-plain-300d", prefix + "-plain-40d", prefix + "-plain-20d",
                                                    prefix + "-zero-20d",   prefix + "-brief-4d",   prefix + "-brief-2d",
                                                    prefix + "-brief-12h"};
        const std::set<std::string> keptPrompts = {prefix + "-plain-20d", prefix + "-zero-20d", prefix + "-brief-12h"};
        CPPUNIT_ASSERT(idsIn(url, "audit_records", prefix) == keptRecords);
        CPPUNIT_ASSERT(idsIn(url, "audit_prompts", prefix) == keptPrompts);
        // Again: nothing more goes.
        sink.maintain(nowTime);
        CPPUNIT_ASSERT(idsIn(url, "audit_records", prefix) == keptRecords);
        CPPUNIT_ASSERT(idsIn(url, "audit_prompts", prefix) == keptPrompts);
    }

    void sluicectlReads(const std::string& url) {
        const auto alpha = unique("alpha");
        const auto beta = unique("beta");
        const auto prefix = unique("ctl");
        const auto nowTime = std::chrono::system_clock::now();
        std::vector<AuditRecord> records;
        for (int i = 0; i < 4; ++i) {
            records.push_back(record(prefix + "-a" + std::to_string(i), alpha, false, nowTime - std::chrono::minutes(10 - i)));
        }
        records[2].tokensEstimated = true;
        records.push_back(record(prefix + "-b0", beta, false, nowTime - 5min));
        records.back().servedModel = "qwen2:7b";
        records.back().tokensIn = 100;
        records.back().tokensOut = 1;
        records.push_back(record(prefix + "-old", alpha, false, nowTime - 3 * 24h));
        DatabaseSink sink(settingsFor(url));
        CPPUNIT_ASSERT(sink.write(records).ok);

        Poco::TemporaryFile config;
        std::ofstream(config.path()) << "store.url = " << url << "\n";

        // Text: newest last, one line per record, the fields an operator reads.
        auto tail = sluicectl(config.path(), {"audit", "tail", "--tenant", alpha, "--since", "1h"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(tail.output, 0, tail.code);
        auto text = lines(tail.output);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(tail.output, std::size_t(4), text.size());
        CPPUNIT_ASSERT_MESSAGE(text[3], text[3].find(alpha) != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text[3], text[3].find("key-" + alpha) != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text[3], text[3].find("llama3:8b") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text[3], text[3].find("gpu") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text[3], text[3].find("200") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text[3], text[3].find("10+20") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text[3], text[3].find("42 ms") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text[3], text[3].find(" ok") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text[3], text[3].find("(estimated)") == std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text[2], text[2].find("10+20 tokens (estimated)") != std::string::npos);

        // JSON, one object per line, oldest first; --limit keeps the newest; --since reaches back.
        tail = sluicectl(config.path(), {"--json", "audit", "tail", "--tenant", alpha, "--since", "7d", "--limit", "2"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(tail.output, 0, tail.code);
        text = lines(tail.output);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(tail.output, std::size_t(2), text.size());
        CPPUNIT_ASSERT_EQUAL(prefix + "-a2", nlohmann::json::parse(text[0]).at("request_id").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(prefix + "-a3", nlohmann::json::parse(text[1]).at("request_id").get<std::string>());
        CPPUNIT_ASSERT(nlohmann::json::parse(text[0]).at("tokens_estimated").get<bool>());
        CPPUNIT_ASSERT(!nlohmann::json::parse(text[1]).at("tokens_estimated").get<bool>());
        tail = sluicectl(config.path(), {"--json", "audit", "tail", "--tenant", alpha, "--since", "7d"});
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), lines(tail.output).size());
        CPPUNIT_ASSERT_EQUAL(prefix + "-old",
                             nlohmann::json::parse(lines(tail.output)[0]).at("request_id").get<std::string>());

        // Usage: per tenant and model, with totals.
        auto usage = sluicectl(config.path(), {"--json", "usage", "--tenant", beta});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(usage.output, 0, usage.code);
        auto json = nlohmann::json::parse(usage.output);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), json.at("usage").size());
        CPPUNIT_ASSERT_EQUAL(std::string("qwen2:7b"), json["usage"][0].at("model").get<std::string>());
        CPPUNIT_ASSERT_EQUAL(1LL, json["usage"][0].at("requests").get<long long>());
        CPPUNIT_ASSERT_EQUAL(100LL, json["total"].at("prompt_tokens").get<long long>());

        usage = sluicectl(config.path(), {"--json", "usage", "--tenant", alpha, "--since", "1h"});
        json = nlohmann::json::parse(usage.output);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), json.at("usage").size());
        CPPUNIT_ASSERT_EQUAL(4LL, json["usage"][0].at("requests").get<long long>());
        CPPUNIT_ASSERT_EQUAL(40LL, json["usage"][0].at("prompt_tokens").get<long long>());
        CPPUNIT_ASSERT_EQUAL(80LL, json["usage"][0].at("completion_tokens").get<long long>());
        CPPUNIT_ASSERT_EQUAL(4LL, json["total"].at("requests").get<long long>());

        usage = sluicectl(config.path(), {"usage", "--tenant", alpha});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(usage.output, 0, usage.code);
        text = lines(usage.output);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(usage.output, std::size_t(3), text.size());  // header, alpha/llama3:8b, total
        CPPUNIT_ASSERT_MESSAGE(text[1], text[1].find(alpha) != std::string::npos && text[1].find("llama3:8b") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(text[2], text[2].rfind("total", 0) == 0 && text[2].find(" 5 ") != std::string::npos);

        // A bad --since is a usage error.
        CPPUNIT_ASSERT_EQUAL(2, sluicectl(config.path(), {"audit", "tail", "--since", "yesterday"}).code);
    }

    std::string _dir;
    std::string _sqliteUrl;
};

CPPUNIT_TEST_SUITE_REGISTRATION(AuditSinksTest);

} // namespace

} // namespace sluice::test
