#pragma once
// Where a Redis server is and how to log in to it, read from a
// redis://[[user]:password@]host[:port][/db] URL. The password is kept as
// given but never printed: display() and every parse error leave it out, so a
// URL can be logged or put in a configuration error without leaking it.

#include <string>

namespace sluice::redis {

struct RedisUrl {
    std::string host;
    int port = 6379;
    std::string user;      // Redis 6 ACL user; empty means the "default" user
    std::string password;  // empty: no AUTH
    int database = 0;      // SELECTed on connect when not 0

    // "redis://host:port/db", with "user:***@" when there are credentials.
    std::string display() const;

    // Throws std::invalid_argument with one line naming the problem; the
    // message never contains the password. User and password may be
    // percent-encoded (%40 for '@'), as URLs made by tools usually are.
    static RedisUrl parse(const std::string& url);
};

} // namespace sluice::redis
