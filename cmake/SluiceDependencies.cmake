# Every dependency comes from Debian's packages; nothing is downloaded at build time.

# Debian's PocoDataPostgreSQLTargets.cmake links PostgreSQL::client, which no
# package defines. Define it before Poco is found (see shared BUILD-NOTES).
find_package(PostgreSQL REQUIRED)
if(NOT TARGET PostgreSQL::client)
  add_library(PostgreSQL::client INTERFACE IMPORTED)
  target_link_libraries(PostgreSQL::client INTERFACE PostgreSQL::PostgreSQL)
endif()

find_package(Poco REQUIRED COMPONENTS Foundation Net NetSSL Util Data DataSQLite DataPostgreSQL Redis)
# libcrypto: the auth plugin's SHA-256 of keys (NetSSL above needs OpenSSL already).
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
# libsqlite3 (Poco's SQLite connector's own): the audit store writes its rows
# through SQLite's API (store/src/AuditStore.cpp says why).
find_package(SQLite3 REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS filesystem context)
find_package(nlohmann_json 3.10 REQUIRED)
# The kernel's fast reader of backends' whole answers (docs/architecture.md, "two JSON parsers").
find_package(simdjson 3 REQUIRED)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ARGON2 REQUIRED IMPORTED_TARGET libargon2)
pkg_check_modules(CPPUNIT REQUIRED IMPORTED_TARGET cppunit)
