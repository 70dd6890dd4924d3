#pragma once
// The `sqlite` and `postgresql` audit sinks: one sink parameterised by the
// store's engine. Each batch is one transaction through store::AuditStore;
// a failure drops the connection so the next write connects afresh, which is
// how the sink comes back by itself when the database does.
// Thread: the kernel's audit writer thread for this sink only.

#include <memory>

#include <Poco/Logger.h>

#include "AuditSettings.h"
#include "sluice/Stages.h"
#include "sluice/store/Database.h"

namespace sluice::audit {

class DatabaseSink : public AuditSink {
public:
    // Connects on the first write, not here: a database down at start-up
    // must not stop the gateway. `logger` may be null.
    explicit DatabaseSink(DatabaseSinkSettings settings, Poco::Logger* logger = nullptr);

    SinkResult write(const std::vector<AuditRecord>& batch) override;
    void maintain(std::chrono::system_clock::time_point now) override;

private:
    store::Database& database();  // connects (and migrates SQLite) when there is no connection

    DatabaseSinkSettings _settings;
    Poco::Logger* _logger;
    std::unique_ptr<store::Database> _db;
};

} // namespace sluice::audit
