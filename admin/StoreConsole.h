#pragma once
// The operator console's store side (kernel/console/ConsoleService.h):
// sessions in the auth store, tenants and keys changed through AdminOps
// (what sluicectl runs), usage and recent requests read from the audit
// store. sluiced's main hands it to the kernel when console.enabled.
// Thread: any (the stores pool their connections).

#include <memory>

#include "AuthSettings.h"
#include "console/Console.h"
#include "sluice/store/AuditStore.h"
#include "sluice/store/AuthStore.h"
#include "sluice/store/ConsoleSessions.h"

namespace sluice::admin {

class StoreConsole final : public kernel::ConsoleService {
public:
    // The factory sluiced is given (SluiceServer's ConsoleServiceFactory):
    // checks that the console can work with this file (the apikey auth
    // stage, whose keys carry the admin flag, and its store), then opens it
    // unless only checking. Throws ConfigError.
    static std::unique_ptr<kernel::ConsoleService> make(const Poco::Util::AbstractConfiguration& config,
                                                        const kernel::ConsoleSettings& settings, bool checkOnly);

    StoreConsole(auth::AuthSettings auth, store::StoreUrl auditUrl, kernel::ConsoleSettings settings);

    kernel::OpenedSession open(const Principal& admin, const std::string& clientAddress) override;
    std::optional<kernel::ConsoleSession> resume(const std::string& token) override;
    void close(const std::string& token) override;
    kernel::ConsoleReply call(const kernel::ConsoleCall& call, const kernel::ConsoleSession& who) override;

private:
    kernel::ConsoleReply tenants(const kernel::ConsoleCall& call, const kernel::ConsoleSession& who);
    kernel::ConsoleReply keys(const kernel::ConsoleCall& call, const kernel::ConsoleSession& who);
    kernel::ConsoleReply usage(const kernel::ConsoleCall& call);
    kernel::ConsoleReply requests(const kernel::ConsoleCall& call);
    kernel::ConsoleReply actions(const kernel::ConsoleCall& call);

    auth::AuthSettings _auth;
    kernel::ConsoleSettings _settings;
    std::unique_ptr<store::Database> _database;
    std::unique_ptr<store::Database> _auditDatabase;  // null when the audit trail is in the same store
    store::AuthStore _store;
    store::ConsoleSessions _sessions;
    store::AuditStore _audit;
};

} // namespace sluice::admin
