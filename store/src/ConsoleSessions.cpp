#include "sluice/store/ConsoleSessions.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace sluice::store {

void ConsoleSessions::create(const ConsoleSessionRecord& session) {
    _db.guarded("cannot open a console session", [&] {
        auto s = _db.session();
        std::string hash = session.tokenHash, key = session.keyId, csrf = session.csrf, address = session.clientAddress;
        Poco::Int64 created = session.createdAt, seen = session.lastSeenAt, expires = session.expiresAt;
        s << _db.sql("INSERT INTO console_sessions (token_hash, key_id, csrf_token, client_address, created_at, last_seen_at,"
                     " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
            use(hash), use(key), use(csrf), use(address), use(created), use(seen), use(expires), now;
    });
}

std::optional<ConsoleSessionRecord> ConsoleSessions::find(const std::string& tokenHash) {
    return _db.guarded("cannot read a console session", [&]() -> std::optional<ConsoleSessionRecord> {
        auto s = _db.session();
        std::string hash = tokenHash;
        Statement select(s);
        select << _db.sql("SELECT token_hash, key_id, csrf_token, client_address, created_at, last_seen_at, expires_at"
                          " FROM console_sessions WHERE token_hash = ?"),
            use(hash), now;
        RecordSet rows(select);
        if (!rows.moveFirst()) return std::nullopt;
        ConsoleSessionRecord found;
        found.tokenHash = rows.value(0).convert<std::string>();
        found.keyId = rows.value(1).convert<std::string>();
        found.csrf = rows.value(2).convert<std::string>();
        found.clientAddress = rows.value(3).convert<std::string>();
        found.createdAt = rows.value(4).convert<long long>();
        found.lastSeenAt = rows.value(5).convert<long long>();
        found.expiresAt = rows.value(6).convert<long long>();
        return found;
    });
}

void ConsoleSessions::touch(const std::string& tokenHash, long long at) {
    _db.guarded("cannot extend a console session", [&] {
        auto s = _db.session();
        std::string hash = tokenHash;
        Poco::Int64 when = at;
        s << _db.sql("UPDATE console_sessions SET last_seen_at = ? WHERE token_hash = ?"), use(when), use(hash), now;
    });
}

void ConsoleSessions::remove(const std::string& tokenHash) {
    _db.guarded("cannot end a console session", [&] {
        auto s = _db.session();
        std::string hash = tokenHash;
        s << _db.sql("DELETE FROM console_sessions WHERE token_hash = ?"), use(hash), now;
    });
}

void ConsoleSessions::removeEnded(long long nowSeconds, long long idleBefore) {
    _db.guarded("cannot clear ended console sessions", [&] {
        auto s = _db.session();
        Poco::Int64 at = nowSeconds, idle = idleBefore;
        s << _db.sql("DELETE FROM console_sessions WHERE expires_at <= ? OR last_seen_at < ?"), use(at), use(idle), now;
    });
}

} // namespace sluice::store
