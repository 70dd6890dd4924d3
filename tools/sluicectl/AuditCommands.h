#pragma once
// sluicectl's audit commands: `audit tail` (the newest records) and `usage`
// (requests and tokens per tenant and model). They read the audit trail
// through store::AuditStore from audit.postgresql.url, audit.sqlite.url or
// store.url, in that order.

#include "CommandLine.h"

namespace sluicectl {

int runAudit(const CommandLine& line);
int runUsage(const CommandLine& line);

} // namespace sluicectl
