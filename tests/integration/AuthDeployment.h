#pragma once
// What the auth integration suites share: a real store (a SQLite file, or a
// real PostgreSQL started for the test run), optionally a real Redis, and one
// properties file that sluiced and sluicectl both read, as an operator's
// deployment would have.

#include <memory>
#include <string>
#include <vector>

#include <Poco/TemporaryFile.h>

#include "FakeBackend.h"
#include "Gateway.h"
#include "HttpClient.h"
#include "PostgresServer.h"
#include "RedisServer.h"

namespace sluice::test {

enum class StoreKind { SQLite, PostgreSQL };

// One PostgreSQL for the whole test process: initdb costs a second or two,
// and tests keep apart by using their own tenant names.
PostgresServer& sharedPostgres();

struct CtlResult {
    int code = -1;
    std::string output;    // stdout and stderr, in order
    std::string lastLine;  // where `keys create` prints the key
};

class AuthDeployment {
public:
    // `extraConfig` is appended to the properties (later keys win).
    AuthDeployment(StoreKind store, RedisServer* redis = nullptr, const std::string& extraConfig = {});

    // The whole properties file, with `backendLines` (backends = …) added.
    std::string config(const std::string& backendLines) const;
    // The properties for one fake backend named "local".
    std::string configWith(const FakeBackend& backend) const;

    // Runs sluicectl with --config on this deployment's file.
    CtlResult ctl(const std::vector<std::string>& args) const;
    // Creates a tenant with a name unique to this process; returns the name.
    std::string createTenant(const std::string& prefix, const std::vector<std::string>& options);
    // Creates a key and returns it (the last line of sluicectl's output).
    std::string createKey(const std::string& tenant, const std::vector<std::string>& options = {});

    // The store's stored hash for a key id (to prove it is never printed).
    std::string storedHash(const std::string& keyId) const;
    // Backdates a key's expiry, which sluicectl cannot do on purpose.
    void expireKey(const std::string& keyId) const;

    const std::string& storeUrl() const { return _storeUrl; }

private:
    std::string _storeUrl;
    std::string _redisUrl;
    std::string _extra;
    std::string _dir;
    Poco::TemporaryFile _ctlConfig;
};

// "Authorization: Bearer KEY" as a header map.
Headers bearer(const std::string& key);
// The key id inside a key (slk_<id>_<secret>).
std::string keyIdOf(const std::string& key);
// A value from a Prometheus text page, or -1 if absent.
double metricValue(const std::string& page, const std::string& series);

} // namespace sluice::test
