#pragma once
// Loading the properties file: `include` files, `${env.NAME}` expansion, and
// a flat, immutable result. Errors are ConfigError naming the key.

#include <string>
#include <vector>

#include <Poco/AutoPtr.h>
#include <Poco/Util/AbstractConfiguration.h>

namespace sluice::kernel {

// Reads `path`. A key `include` names further files (comma list, relative to
// the including file) read first, so the including file's keys win.
// `${env.NAME}` in any value is replaced by the environment variable; an unset
// variable is an error naming the key, so a missing secret fails start-up.
// `config.dir` is set to the absolute folder of `path`.
Poco::AutoPtr<Poco::Util::AbstractConfiguration> loadConfig(const std::string& path);

// Every key that holds a value, in no particular order.
std::vector<std::string> configKeys(const Poco::Util::AbstractConfiguration& config);

// Expands `${env.NAME}` in `value` (for the key `key`, used in the error).
std::string expandEnvironment(const std::string& key, const std::string& value);

} // namespace sluice::kernel
