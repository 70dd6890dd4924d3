#pragma once
// Where the store lives, from `store.url`: `sqlite:PATH` (the embedded
// default) or `postgresql://[user[:password]@]host[:port]/database[?param=value&...]`.

#include <string>

namespace sluice::store {

enum class Engine { SQLite, PostgreSQL };

struct StoreUrl {
    Engine engine = Engine::SQLite;
    std::string sqlitePath;        // SQLite: the database file
    std::string connectionString;  // PostgreSQL: libpq "key=value" form, password included

    // Throws std::invalid_argument naming what is wrong (never the password).
    // A relative SQLite path is taken relative to `baseDirectory` when given.
    static StoreUrl parse(const std::string& url, const std::string& baseDirectory = "");

    // For logs and errors: engine and place, without any password.
    std::string display() const;

private:
    std::string _display;
};

} // namespace sluice::store
