#include "sluice/store/StoreUrl.h"

#include <algorithm>
#include <stdexcept>

#include <Poco/Exception.h>
#include <Poco/Path.h>
#include <Poco/URI.h>

namespace sluice::store {

namespace {
// Poco's PostgreSQL connector splits its connection string on spaces and
// does not understand quoting, so a value with a space cannot be passed.
std::string libpqPair(const std::string& key, const std::string& value) {
    // Parameter names are libpq keywords: lower-case letters and '_'.
    if (key.empty() || key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string::npos)
        throw std::invalid_argument("store.url: unknown parameter name in the query");
    if (value.find_first_of(" \t\r\n'\\") != std::string::npos)
        throw std::invalid_argument("store.url: the " + key + " must not contain spaces, quotes or backslashes");
    return key + "=" + value + " ";
}
} // namespace

StoreUrl StoreUrl::parse(const std::string& url, const std::string& baseDirectory) {
    StoreUrl result;
    static const std::string kSqlite = "sqlite:";
    if (url.rfind(kSqlite, 0) == 0) {
        Poco::Path path(url.substr(kSqlite.size()));
        if (url.size() == kSqlite.size()) throw std::invalid_argument("store.url: sqlite: needs a file path (sqlite:var/sluice.db)");
        if (path.isRelative() && !baseDirectory.empty()) path.makeAbsolute(Poco::Path(baseDirectory));
        result.engine = Engine::SQLite;
        result.sqlitePath = path.toString();
        result._display = "sqlite:" + result.sqlitePath;
        return result;
    }
    if (url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0)
        throw std::invalid_argument("store.url: expected sqlite:PATH or postgresql://user@host:port/database");

    Poco::URI uri;
    try {
        uri = Poco::URI(url);
    } catch (const Poco::Exception&) {
        throw std::invalid_argument("store.url: not a valid postgresql:// URL");
    }
    if (uri.getHost().empty()) throw std::invalid_argument("store.url: postgresql:// URL without a host");
    std::string database = uri.getPath();
    if (!database.empty() && database.front() == '/') database.erase(0, 1);
    if (database.empty() || database.find('/') != std::string::npos)
        throw std::invalid_argument("store.url: postgresql:// URL needs one database name as its path");

    // A raw '@' in the password would let the URL parser split it in the
    // wrong place (and show part of it as the user): it must be %40.
    const auto authorityStart = url.find("//") + 2;
    const auto authority = url.substr(authorityStart, url.find_first_of("/?#", authorityStart) - authorityStart);
    if (std::count(authority.begin(), authority.end(), '@') > 1)
        throw std::invalid_argument("store.url: write '@' in a user or password as %40");

    // Poco 1.11 leaves the user information percent-encoded.
    std::string user;
    std::string password;
    const auto userInfo = uri.getUserInfo();
    const auto colon = userInfo.find(':');
    Poco::URI::decode(userInfo.substr(0, colon), user);
    if (colon != std::string::npos) Poco::URI::decode(userInfo.substr(colon + 1), password);

    std::string conn = libpqPair("host", uri.getHost());
    conn += libpqPair("port", std::to_string(uri.getPort() == 0 ? 5432 : uri.getPort()));
    conn += libpqPair("dbname", database);
    if (!user.empty()) conn += libpqPair("user", user);
    if (!password.empty()) conn += libpqPair("password", password);
    bool hasOptions = false;
    for (const auto& [key, value] : uri.getQueryParameters()) {
        conn += libpqPair(key, value);
        hasOptions = hasOptions || key == "options";
    }
    // libpq prints server NOTICEs on stderr; they would garble sluicectl's output.
    if (!hasOptions) conn += "options=--client_min_messages=warning ";
    conn.pop_back();

    result.engine = Engine::PostgreSQL;
    result.connectionString = conn;
    result._display = "postgresql://" + (user.empty() ? "" : user + "@") + uri.getHost() + ":" +
                      std::to_string(uri.getPort() == 0 ? 5432 : uri.getPort()) + "/" + database;
    return result;
}

std::string StoreUrl::display() const { return _display; }

} // namespace sluice::store
