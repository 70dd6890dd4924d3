// The real servers the stores run against, and the Redis client plugins use:
// RedisServer and PostgresServer start, stop and start again on the same
// port, and sluice::redis::Client and Subscriber recover by themselves when
// Redis comes back, with every failure bounded by the client's timeout.
// Over 400 lines: one suite per pair of real servers, whose setup is shared;
// split, each half would start its own servers and the suite would run longer.

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <regex>
#include <thread>

#include <pthread.h>

#include <cppunit/extensions/HelperMacros.h>

#include <libpq-fe.h>

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "PostgresServer.h"
#include "RedisServer.h"
#include "TestHelpers.h"
#include "sluice/redis/Redis.h"

namespace sluice::test {

namespace {

using namespace std::chrono_literals;
using sluice::redis::Client;
using sluice::redis::RedisError;
using sluice::redis::RedisUrl;
using sluice::redis::Script;
using sluice::redis::Subscriber;
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// How many times Redis ran `command`, from INFO commandstats (0 if never).
long long callsOf(Client& client, const std::string& command) {
    const auto info = client.command({"INFO", "commandstats"}).string();
    std::smatch match;
    if (!std::regex_search(info, match, std::regex("cmdstat_" + command + ":calls=(\\d+)"))) return 0;
    return std::stoll(match[1].str());
}

// What a Subscriber hands its callbacks, for a test thread to wait on.
struct Inbox {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::pair<std::string, std::string>> messages;
    int connects = 0;

    void onMessage(const std::string& channel, const std::string& message) {
        std::lock_guard lock(mutex);
        messages.emplace_back(channel, message);
        changed.notify_all();
    }
    void onConnected() {
        std::lock_guard lock(mutex);
        ++connects;
        changed.notify_all();
    }
    bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, limit, condition);
    }
    bool hasMessage(const std::string& channel, const std::string& message) {
        for (const auto& [c, m] : messages)
            if (c == channel && m == message) return true;
        return false;
    }
};

struct PgConnection {
    explicit PgConnection(const std::string& conninfo) : handle(PQconnectdb(conninfo.c_str())) {}
    ~PgConnection() { PQfinish(handle); }
    bool ok() const { return PQstatus(handle) == CONNECTION_OK; }
    std::string error() const { return PQerrorMessage(handle); }
    // The first value of the first row, or throws with the server's message.
    std::string scalar(const std::string& sql) {
        PGresult* result = PQexec(handle, sql.c_str());
        const auto status = PQresultStatus(result);
        std::string value;
        if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) value = PQgetvalue(result, 0, 0);
        const std::string message = PQresultErrorMessage(result);
        PQclear(result);
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) throw std::runtime_error(sql + ": " + message);
        return value;
    }
    PGconn* handle;
};

} // namespace

class StoreServersTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(StoreServersTest);
    CPPUNIT_TEST(redisCommandsRoundTrip);
    CPPUNIT_TEST(passwordAndDatabaseFromTheUrl);
    CPPUNIT_TEST(scriptsRunBySha1AndFallBackToEval);
    CPPUNIT_TEST(clientRecoversWhenRedisComesBack);
    CPPUNIT_TEST(silentServerTimesOut);
    CPPUNIT_TEST(peerClosingMidSendIsAnErrorNotSigpipe);
    CPPUNIT_TEST(subscriberResubscribesAfterRestart);
    CPPUNIT_TEST(postgresStartsStopsAndStartsAgain);
    CPPUNIT_TEST_SUITE_END();

public:
    void redisCommandsRoundTrip() {
        RedisServer server;
        Client client(RedisUrl::parse(server.url()), 1000ms);
        CPPUNIT_ASSERT(client.ping());
        CPPUNIT_ASSERT_EQUAL(std::string("OK"), client.command({"SET", "key:a", "alpha"}).string());
        CPPUNIT_ASSERT_EQUAL(std::string("alpha"), client.get("key:a").value_or("<nil>"));
        CPPUNIT_ASSERT(!client.get("key:missing"));

        // Any bytes survive, CR LF and NUL included.
        const std::string binary("line\r\nwith\0nul", 14);
        client.setex("key:b", 60s, binary);
        CPPUNIT_ASSERT(client.get("key:b") == binary);
        const auto ttl = client.command({"TTL", "key:b"}).integer();
        CPPUNIT_ASSERT(ttl > 0 && ttl <= 60);

        client.command({"RPUSH", "list", "x", "y"});
        const auto list = client.command({"LRANGE", "list", "0", "-1"});
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), list.array().size());
        CPPUNIT_ASSERT_EQUAL(std::string("y"), list.array()[1].string());

        CPPUNIT_ASSERT_EQUAL(2LL, client.del({"key:a", "key:b", "key:missing"}));
        CPPUNIT_ASSERT_EQUAL(0LL, client.del({}));
        CPPUNIT_ASSERT_EQUAL(0LL, client.publish("nobody-listens", "hello"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), client.idleConnections());

        // An error reply throws, names the command, and costs the connection.
        try {
            client.command({"INCR", "list"});
            CPPUNIT_FAIL("INCR on a list should fail");
        } catch (const RedisError& e) {
            CPPUNIT_ASSERT(e.kind() == RedisError::Kind::Reply);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("INCR: WRONGTYPE") != std::string::npos);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), client.idleConnections());
        // Asking for the wrong type is an error too, not a default value.
        CPPUNIT_ASSERT_THROW(client.command({"LLEN", "list"}).string(), RedisError);
        // Commands that would change a pooled connection for the next caller are refused.
        CPPUNIT_ASSERT_THROW(client.command({"select", "1"}), std::invalid_argument);
        CPPUNIT_ASSERT_THROW(client.command({"SUBSCRIBE", "x"}), std::invalid_argument);
    }

    void passwordAndDatabaseFromTheUrl() {
        RedisServer server;
        Client admin(RedisUrl::parse(server.url()), 1000ms);
        admin.command({"CONFIG", "SET", "requirepass", "s3cret/pw"});  // admin's own connection stays logged in
        const auto withPassword = "redis://:s3cret%2Fpw@127.0.0.1:" + std::to_string(server.port());

        Client inDb3(RedisUrl::parse(withPassword + "/3"), 1000ms);
        inDb3.setex("in-db-3", 60s, "yes");
        CPPUNIT_ASSERT_EQUAL(std::string("yes"), inDb3.get("in-db-3").value_or("<nil>"));
        Client inDb0(RedisUrl::parse(withPassword), 1000ms);
        CPPUNIT_ASSERT(!inDb0.get("in-db-3"));

        Client noPassword(RedisUrl::parse(server.url()), 1000ms);
        CPPUNIT_ASSERT_THROW(noPassword.get("x"), RedisError);
        Client wrongPassword(RedisUrl::parse("redis://:wrong-secret@127.0.0.1:" + std::to_string(server.port())), 1000ms);
        try {
            wrongPassword.get("x");
            CPPUNIT_FAIL("a wrong password should be refused");
        } catch (const RedisError& e) {
            CPPUNIT_ASSERT(e.kind() == RedisError::Kind::Reply);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("AUTH refused: WRONGPASS") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("wrong-secret") == std::string::npos);
        }
        CPPUNIT_ASSERT(!wrongPassword.ping());

        // Subscribers log in too.
        Inbox inbox;
        Subscriber subscriber(
            RedisUrl::parse(withPassword), {"c"}, [&](const std::string& c, const std::string& m) { inbox.onMessage(c, m); },
            [&] { inbox.onConnected(); }, 1000ms);
        subscriber.start();
        CPPUNIT_ASSERT(inbox.waitFor([&] { return inbox.connects == 1; }));
        CPPUNIT_ASSERT_EQUAL(1LL, inDb0.publish("c", "hello"));
        CPPUNIT_ASSERT(inbox.waitFor([&] { return inbox.hasMessage("c", "hello"); }));
    }

    void scriptsRunBySha1AndFallBackToEval() {
        RedisServer server;
        Client client(RedisUrl::parse(server.url()), 1000ms);
        const Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
        CPPUNIT_ASSERT_EQUAL(std::size_t(40), script.sha1().size());
        client.command({"CONFIG", "RESETSTAT"});

        // First run: Redis does not know the script, so EVALSHA fails and EVAL loads it.
        CPPUNIT_ASSERT_EQUAL(5LL, client.evalScript(script, {"counter"}, {"5"}).integer());
        CPPUNIT_ASSERT_EQUAL(1LL, callsOf(client, "evalsha"));
        CPPUNIT_ASSERT_EQUAL(1LL, callsOf(client, "eval"));
        // Second run: by SHA1 alone.
        CPPUNIT_ASSERT_EQUAL(7LL, client.evalScript(script, {"counter"}, {"2"}).integer());
        CPPUNIT_ASSERT_EQUAL(2LL, callsOf(client, "evalsha"));
        CPPUNIT_ASSERT_EQUAL(1LL, callsOf(client, "eval"));
        // The SHA1 is the one Redis computes.
        const auto exists = client.command({"SCRIPT", "EXISTS", script.sha1()});
        CPPUNIT_ASSERT_EQUAL(1LL, exists.array().at(0).integer());

        // After SCRIPT FLUSH (as after a restart) the fallback loads it again.
        client.command({"SCRIPT", "FLUSH"});
        CPPUNIT_ASSERT_EQUAL(10LL, client.evalScript(script, {"counter"}, {"3"}).integer());
        CPPUNIT_ASSERT_EQUAL(2LL, callsOf(client, "eval"));
        CPPUNIT_ASSERT_EQUAL(11LL, client.evalScript(script, {"counter"}, {"1"}).integer());
        CPPUNIT_ASSERT_EQUAL(2LL, callsOf(client, "eval"));

        // A script's own error is a RedisError, not a Reply to check.
        const Script failing("return redis.error_reply('LIMIT exceeded')");
        try {
            client.evalScript(failing, {}, {});
            CPPUNIT_FAIL("the script's error should throw");
        } catch (const RedisError& e) {
            CPPUNIT_ASSERT(e.kind() == RedisError::Kind::Reply);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("LIMIT exceeded") != std::string::npos);
        }
        // Tables come back as arrays, nested ones included.
        const Script table("return {1, 'two', {3}}");
        const auto reply = client.evalScript(table, {}, {});
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), reply.array().size());
        CPPUNIT_ASSERT_EQUAL(std::string("two"), reply.array()[1].string());
        CPPUNIT_ASSERT_EQUAL(3LL, reply.array()[2].array()[0].integer());
    }

    void clientRecoversWhenRedisComesBack() {
        RedisServer server;
        const auto timeout = 500ms;
        Client client(RedisUrl::parse(server.url()), timeout);
        client.setex("before", 60s, "1");
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), client.idleConnections());

        server.stop();
        auto start = Clock::now();
        try {
            client.get("before");
            CPPUNIT_FAIL("a stopped Redis should fail the call");
        } catch (const RedisError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), e.kind() == RedisError::Kind::Connection);
            const std::string where = "127.0.0.1:" + std::to_string(server.port());
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find(where) != std::string::npos);
        }
        // Bounded by the timeout, not by a clock: the margin is wide, because
        // under load the scheduler adds its own delays; what it rules out is a
        // call that waits on no deadline at all (each call here is 300 ms).
        CPPUNIT_ASSERT_MESSAGE(std::to_string(since(start).count()) + " ms", since(start) < 10 * timeout);
        CPPUNIT_ASSERT(!client.ping());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), client.idleConnections());

        // Same port, same Client object: the very next call works (no persistence, so the key is gone).
        server.start();
        CPPUNIT_ASSERT(!client.get("before"));
        client.setex("after", 60s, "2");
        CPPUNIT_ASSERT_EQUAL(std::string("2"), client.get("after").value_or("<nil>"));

        // A restart while a connection sits idle in the pool: it is noticed
        // before use, so no call fails because of it.
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), client.idleConnections());
        server.stop();
        server.start();
        CPPUNIT_ASSERT(client.ping());
        CPPUNIT_ASSERT_EQUAL(std::string("OK"), client.command({"SET", "again", "3"}).string());
    }

    void silentServerTimesOut() {
        // Accepts connections (the kernel's backlog does) but never answers.
        Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0));
        const auto url = "redis://127.0.0.1:" + std::to_string(silent.address().port());
        const auto timeout = 300ms;
        Client client(RedisUrl::parse(url), timeout);
        const auto start = Clock::now();
        try {
            client.get("anything");
            CPPUNIT_FAIL("a silent server should time out");
        } catch (const RedisError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), e.kind() == RedisError::Kind::Timeout);
            const std::string expected = "timed out after 300 ms waiting for the reply to GET";
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find(expected) != std::string::npos);
        }
        const auto elapsed = since(start);
        CPPUNIT_ASSERT_MESSAGE(std::to_string(elapsed.count()) + " ms", elapsed >= timeout - 10ms && elapsed < 10 * timeout);

        // A subscriber stuck waiting for SUBSCRIBE's answer still stops promptly.
        // Its timeout is 60 s: stopping well within it (the bound is wide for
        // loaded machines) shows stop() did not wait it out.
        Subscriber subscriber(RedisUrl::parse(url), {"c"}, [](const std::string&, const std::string&) {}, {}, 60s);
        subscriber.start();
        std::this_thread::sleep_for(200ms);  // usually in the wait by now; stop() must be prompt either way
        const auto stopStart = Clock::now();
        subscriber.stop();
        CPPUNIT_ASSERT_MESSAGE(std::to_string(since(stopStart).count()) + " ms", since(stopStart) < 20s);
    }

    void peerClosingMidSendIsAnErrorNotSigpipe() {
        // SIGPIPE's default action would end this process: put it in force on
        // this thread. Loading libPocoFoundation blocks SIGPIPE in the main
        // thread (a static initialiser), and threads inherit that mask, which
        // would hide a missing MSG_NOSIGNAL here but not in every host.
        struct SigpipeInForce {
            sigset_t pipe;
            void (*previousHandler)(int);
            bool wasBlocked;
            SigpipeInForce() {
                sigemptyset(&pipe);
                sigaddset(&pipe, SIGPIPE);
                sigset_t previousMask;
                pthread_sigmask(SIG_UNBLOCK, &pipe, &previousMask);
                wasBlocked = sigismember(&previousMask, SIGPIPE) == 1;
                previousHandler = std::signal(SIGPIPE, SIG_DFL);
            }
            ~SigpipeInForce() {
                std::signal(SIGPIPE, previousHandler);
                if (wasBlocked) pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
            }
        } sigpipeInForce;
        // Half-closes first (FIN), then closes with data unread (RST). A reset
        // after the FIN is what makes the client's next send fail with EPIPE,
        // the error that raises SIGPIPE unless the send says MSG_NOSIGNAL.
        Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
        // Joined however the test ends: a failed assertion below is reported,
        // where a std::thread still joinable would end the suite in std::terminate.
        std::jthread closer([&] {
            if (!listener.poll(Poco::Timespan(5, 0), Poco::Net::Socket::SELECT_READ)) return;
            auto peer = listener.acceptConnection();
            peer.shutdownSend();
            char buffer[1024];
            peer.receiveBytes(buffer, sizeof buffer);
            std::this_thread::sleep_for(50ms);
            peer.close();
        });
        Client client(RedisUrl::parse("redis://127.0.0.1:" + std::to_string(listener.address().port())), 2000ms);
        const std::string big(16 * 1024 * 1024, 'x');  // far more than the socket buffers hold
        try {
            client.setex("big", 60s, big);
            CPPUNIT_FAIL("a closed connection should fail the call");
        } catch (const RedisError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), e.kind() == RedisError::Kind::Connection);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("connection broken sending SETEX") != std::string::npos);
        }
        closer.join();
    }

    void subscriberResubscribesAfterRestart() {
        RedisServer server;
        Client client(RedisUrl::parse(server.url()), 1000ms);
        Inbox inbox;
        Subscriber subscriber(
            RedisUrl::parse(server.url()), {"revocations", "other"},
            [&](const std::string& channel, const std::string& message) { inbox.onMessage(channel, message); },
            [&] { inbox.onConnected(); }, 1000ms);
        subscriber.start();
        CPPUNIT_ASSERT(inbox.waitFor([&] { return inbox.connects == 1; }));
        CPPUNIT_ASSERT(subscriber.isConnected());
        CPPUNIT_ASSERT_EQUAL(1LL, client.publish("revocations", "key-1"));
        CPPUNIT_ASSERT(inbox.waitFor([&] { return inbox.hasMessage("revocations", "key-1"); }));

        server.stop();
        CPPUNIT_ASSERT(eventually([&] { return !subscriber.isConnected(); }, 5s));
        server.start();
        // onConnected again: the moment a cache must be flushed.
        CPPUNIT_ASSERT(inbox.waitFor([&] { return inbox.connects == 2; }));
        CPPUNIT_ASSERT_EQUAL(1LL, client.publish("other", "key-2"));
        CPPUNIT_ASSERT(inbox.waitFor([&] { return inbox.hasMessage("other", "key-2"); }));

        // Stopping is prompt while it waits to retry, too.
        server.stop();
        CPPUNIT_ASSERT(eventually([&] { return !subscriber.isConnected(); }, 5s));
        std::this_thread::sleep_for(500ms);
        const auto start = Clock::now();
        subscriber.stop();
        CPPUNIT_ASSERT_MESSAGE(std::to_string(since(start).count()) + " ms", since(start) < 1s);
        std::lock_guard lock(inbox.mutex);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), inbox.messages.size());
    }

    void postgresStartsStopsAndStartsAgain() {
        PostgresServer server;
        CPPUNIT_ASSERT_EQUAL("postgresql://postgres@127.0.0.1:" + std::to_string(server.port()) + "/sluice", server.url());
        {
            PgConnection db("host=127.0.0.1 port=" + std::to_string(server.port()) + " dbname=sluice user=postgres");
            CPPUNIT_ASSERT_MESSAGE(db.error(), db.ok());
            CPPUNIT_ASSERT_EQUAL(std::string("1"), db.scalar("SELECT 1"));
            db.scalar("CREATE TABLE kept (id int)");
            db.scalar("INSERT INTO kept VALUES (42)");
        }
        server.stop();
        {
            PgConnection db(server.connectionString());
            CPPUNIT_ASSERT(!db.ok());
        }
        server.start();
        PgConnection db(server.connectionString());
        CPPUNIT_ASSERT_MESSAGE(db.error() + server.log(), db.ok());
        CPPUNIT_ASSERT_EQUAL(std::string("1"), db.scalar("SELECT 1"));
        CPPUNIT_ASSERT_EQUAL(std::string("42"), db.scalar("SELECT id FROM kept"));  // same data directory
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(StoreServersTest);

} // namespace sluice::test
