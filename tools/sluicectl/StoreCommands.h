#pragma once
// sluicectl's store commands: migrate, tenants, keys. They read store.url,
// redis.url and auth.* from the same properties file sluiced runs with.

#include "CommandLine.h"

namespace sluicectl {

int runMigrate(const CommandLine& line);
int runTenants(const CommandLine& line);
int runKeys(const CommandLine& line);

} // namespace sluicectl
