#pragma once
// The operator console's sessions as the store keeps them: by the SHA-256
// of their token (the token itself is only ever in the browser's cookie),
// with the key that opened it, its CSRF token, and when it ends. In the
// store, not in one process, so every instance sharing it knows a session
// and a restart keeps it.
// Thread: safe from any thread; each call takes its own pooled session.

#include <optional>
#include <string>

#include "sluice/store/Database.h"

namespace sluice::store {

struct ConsoleSessionRecord {
    std::string tokenHash;  // hex SHA-256 of the cookie's token
    std::string keyId;
    std::string csrf;
    std::string clientAddress;
    long long createdAt = 0;   // seconds since the epoch
    long long lastSeenAt = 0;
    long long expiresAt = 0;   // the hard end: created + console.session_max_s
};

class ConsoleSessions {
public:
    explicit ConsoleSessions(Database& db) : _db(db) {}

    void create(const ConsoleSessionRecord& session);
    std::optional<ConsoleSessionRecord> find(const std::string& tokenHash);
    void touch(const std::string& tokenHash, long long at);
    void remove(const std::string& tokenHash);
    // Sessions past their end, or unused since `idleBefore`.
    void removeEnded(long long now, long long idleBefore);

private:
    Database& _db;
};

} // namespace sluice::store
