#pragma once
// Builds the backend list from `backends` and `backends.NAME.*`, validating
// every value so a typo stops start-up instead of failing requests.

#include <Poco/Util/AbstractConfiguration.h>

#include "sluice/Backend.h"

namespace sluice::kernel {

BackendList parseBackends(const Poco::Util::AbstractConfiguration& config);

} // namespace sluice::kernel
