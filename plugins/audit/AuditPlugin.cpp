// The audit plugin library: registers the `sqlite`, `postgresql` and `jsonl`
// audit sinks. Each reads its keys from the whole file (store.url and
// config.dir are outside the audit subtree).

#include "DatabaseSink.h"
#include "JsonlSink.h"
#include "sluice/Plugin.h"

namespace {

void registerStages(sluice::StageRegistry& registry) {
    registry.addAuditSink("sqlite", [](const sluice::StageSetup& setup) {
        return std::make_unique<sluice::audit::DatabaseSink>(
            sluice::audit::readDatabaseSinkSettings(setup.services.config(), sluice::store::Engine::SQLite),
            &setup.services.logger("audit.sqlite"));
    });
    registry.addAuditSink("postgresql", [](const sluice::StageSetup& setup) {
        return std::make_unique<sluice::audit::DatabaseSink>(
            sluice::audit::readDatabaseSinkSettings(setup.services.config(), sluice::store::Engine::PostgreSQL),
            &setup.services.logger("audit.postgresql"));
    });
    registry.addAuditSink("jsonl", [](const sluice::StageSetup& setup) {
        return std::make_unique<sluice::audit::JsonlSink>(sluice::audit::readJsonlSinkSettings(setup.services.config()));
    });
    registry.declareKeys({"store.url", "audit.sqlite.url", "audit.postgresql.url", "audit.retention_days",
                          "audit.prompt_retention_days", "audit.purge_batch", "audit.jsonl.path", "audit.jsonl.prompts_path",
                          "audit.jsonl.max_bytes", "audit.jsonl.keep"});
}

} // namespace

SLUICE_PLUGIN("audit", "0.1.0", registerStages)
