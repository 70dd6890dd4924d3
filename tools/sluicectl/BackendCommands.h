#pragma once
// sluicectl's backend commands: `backends probe` (can each configured backend
// be reached, what does it run, how many models) and `models` (what each
// backend hosts, through the configured discovery stage, as sluiced sees it).
// Both read the backends from the same properties file sluiced runs with and
// never print a backend's token.

#include "CommandLine.h"

namespace sluicectl {

int runBackends(const CommandLine& line);
int runModels(const CommandLine& line);

} // namespace sluicectl
