#include "AuditCommands.h"

#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "AuditRows.h"
#include "AuditSettings.h"
#include "Config.h"
#include "Duration.h"
#include "sluice/AuditJson.h"
#include "sluice/ConfigError.h"
#include "sluice/store/AuditStore.h"
#include "sluice/store/Migrations.h"
#include "sluice/store/StoreError.h"

namespace sluicectl {

namespace {

using sluice::store::AuditStore;

// The audit trail's store, at the current schema (SQLite is migrated here as
// sluiced would on start; PostgreSQL needs an explicit `migrate`).
std::unique_ptr<sluice::store::Database> openAuditStore(const CommandLine& line) {
    sluice::store::StoreUrl url;
    try {
        url = sluice::audit::auditReadUrl(*sluice::kernel::loadConfig(line.configPath("the audit trail")));
    } catch (const sluice::ConfigError& e) {
        throw CommandFailed(std::string("configuration error: ") + e.what());
    }
    try {
        auto database = std::make_unique<sluice::store::Database>(url, 1);
        if (url.engine == sluice::store::Engine::SQLite) sluice::store::migrate(*database);
        sluice::store::requireCurrentSchema(*database);
        return database;
    } catch (const sluice::store::StoreError& e) {
        throw CommandFailed(e.what());
    }
}

long long sinceMs(const CommandLine& line, const std::string& fallback) {
    const auto text = line.value("--since").value_or(fallback);
    try {
        const auto span = parseDuration(text);
        return sluice::store::storeNow() * 1000 - std::chrono::duration_cast<std::chrono::milliseconds>(span).count();
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--since: ") + e.what());
    }
}

std::string orDash(const std::string& text) { return text.empty() ? "-" : text; }

int auditTail(const CommandLine& line) {
    line.allow("audit tail", {"--tenant", "--since", "--limit"}, 2);
    sluice::store::AuditQuery query;
    query.tenant = line.value("--tenant");
    query.sinceMs = sinceMs(line, "1h");
    query.limit = static_cast<std::size_t>(line.number("--limit", 1, 1'000'000).value_or(100));
    auto database = openAuditStore(line);
    std::vector<sluice::store::AuditRow> rows;
    try {
        rows = AuditStore(*database).tail(query);
    } catch (const sluice::store::StoreError& e) {
        throw CommandFailed(e.what());
    }
    for (const auto& row : rows) {
        if (line.json()) {
            std::cout << sluice::auditRecordJson(sluice::audit::fromRow(row))
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                      << "\n";
            continue;
        }
        const auto model = row.servedModel.empty() ? row.requestedModel : row.servedModel;
        std::cout << sluice::isoTime(row.atMs) << "  " << orDash(row.tenant) << "  " << orDash(row.keyId) << "  "
                  << orDash(row.route) << "  " << orDash(model) << "  " << orDash(row.servedBackend) << "  " << row.status
                  << "  " << row.promptTokens << "+" << row.completionTokens
                  << (row.tokensEstimated ? " tokens (estimated)  " : " tokens  ") << row.latencyMs << " ms  "
                  << row.outcome << "\n";
    }
    return kExitOk;
}

} // namespace

int runAudit(const CommandLine& line) {
    if (line.words().size() < 2) throw UsageError("audit needs a subcommand: tail");
    if (line.words()[1] == "tail") return auditTail(line);
    throw UsageError("unknown audit subcommand '" + line.words()[1] + "' (tail)");
}

int runUsage(const CommandLine& line) {
    line.allow("usage", {"--tenant", "--since"}, 1);
    const auto tenant = line.value("--tenant");
    const auto since = sinceMs(line, "30d");
    auto database = openAuditStore(line);
    std::vector<sluice::store::UsageRow> rows;
    try {
        rows = AuditStore(*database).usage(tenant, since);
    } catch (const sluice::store::StoreError& e) {
        throw CommandFailed(e.what());
    }
    long long requests = 0;
    long long promptTokens = 0;
    long long completionTokens = 0;
    for (const auto& row : rows) {
        requests += row.requests;
        promptTokens += row.promptTokens;
        completionTokens += row.completionTokens;
    }
    if (line.json()) {
        auto list = nlohmann::json::array();
        for (const auto& row : rows)
            list.push_back({{"tenant", row.tenant},
                            {"model", row.model},
                            {"requests", row.requests},
                            {"prompt_tokens", row.promptTokens},
                            {"completion_tokens", row.completionTokens}});
        std::cout << nlohmann::json{{"since", sluice::isoTime(since)},
                                    {"usage", list},
                                    {"total", {{"requests", requests},
                                               {"prompt_tokens", promptTokens},
                                               {"completion_tokens", completionTokens}}}}
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << "\n";
        return kExitOk;
    }
    std::cout << std::left << std::setw(24) << "TENANT" << std::setw(32) << "MODEL" << std::right << std::setw(10)
              << "REQUESTS" << std::setw(16) << "PROMPT TOKENS" << std::setw(20) << "COMPLETION TOKENS" << "\n";
    for (const auto& row : rows)
        std::cout << std::left << std::setw(24) << orDash(row.tenant) << std::setw(32) << orDash(row.model) << std::right
                  << std::setw(10) << row.requests << std::setw(16) << row.promptTokens << std::setw(20)
                  << row.completionTokens << "\n";
    std::cout << std::left << std::setw(24) << "total" << std::setw(32) << "" << std::right << std::setw(10) << requests
              << std::setw(16) << promptTokens << std::setw(20) << completionTokens << "\n";
    return kExitOk;
}

} // namespace sluicectl
