#pragma once
// What the audit sinks and `sluicectl audit`/`usage` read from the properties
// file, validated in one place so both agree on what a file means.

#include <cstddef>
#include <cstdint>
#include <string>

#include <Poco/Util/AbstractConfiguration.h>

#include "sluice/store/AuditStore.h"
#include "sluice/store/StoreUrl.h"

namespace sluice::audit {

struct DatabaseSinkSettings {
    store::StoreUrl url;
    store::RetentionPolicy retention;
};

struct JsonlSinkSettings {
    std::string path;         // absolute
    std::string promptsPath;  // absolute
    std::uint64_t maxBytes = 104857600;
    int keep = 10;  // rotated files kept: path.1 … path.keep
    int retentionDays = 365;
    int promptRetentionDays = 30;
    std::size_t recentIds = 200000;  // request ids remembered to skip a batch written again
};

// audit.<engine>.url, else store.url when it names that engine; ConfigError
// when neither does. Plus audit.retention_days, prompt_retention_days, purge_batch.
DatabaseSinkSettings readDatabaseSinkSettings(const Poco::Util::AbstractConfiguration& config, store::Engine engine);

// audit.jsonl.* (path required), relative paths against config.dir.
JsonlSinkSettings readJsonlSinkSettings(const Poco::Util::AbstractConfiguration& config);

// Where sluicectl reads the audit trail: audit.postgresql.url, else
// audit.sqlite.url, else store.url.
store::StoreUrl auditReadUrl(const Poco::Util::AbstractConfiguration& config);

} // namespace sluice::audit
