#pragma once
// Thrown while reading configuration (at start-up or reload, never on the
// request path): names the key and says what is wrong with it, so the kernel
// can stop with one clear line.

#include <stdexcept>
#include <string>

#include "sluice/Abi.h"

namespace sluice {

class SLUICE_API ConfigError : public std::runtime_error {
public:
    ConfigError(std::string key, const std::string& problem);
    const std::string& key() const { return _key; }

private:
    std::string _key;
};

} // namespace sluice
