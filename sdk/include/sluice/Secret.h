#pragma once
// A credential (backend token, API key) that cannot be printed by accident:
// streaming it or converting it to text shows "***". Only reveal() gives the
// value, so every place that uses the secret is easy to find.

#include <ostream>
#include <string>
#include <utility>

#include "sluice/Abi.h"

namespace sluice {

class SLUICE_API Secret {
public:
    Secret() = default;
    explicit Secret(std::string value) : _value(std::move(value)) {}

    bool empty() const { return _value.empty(); }
    const std::string& reveal() const { return _value; }

    friend std::ostream& operator<<(std::ostream& out, const Secret& secret) {
        return out << (secret.empty() ? "" : "***");
    }

private:
    std::string _value;
};

} // namespace sluice
