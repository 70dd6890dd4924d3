#pragma once
// Builds the alias table from `aliases.NAME.chain`, `aliases.NAME.description`
// and `aliases.default`, validating every entry against the backend list so
// a typo stops start-up (or a reload) instead of failing requests.

#include <Poco/Util/AbstractConfiguration.h>

#include "sluice/Aliases.h"
#include "sluice/Backend.h"

namespace sluice::kernel {

AliasTable parseAliases(const Poco::Util::AbstractConfiguration& config, const BackendList& backends);

} // namespace sluice::kernel
