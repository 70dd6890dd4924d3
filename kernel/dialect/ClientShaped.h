#pragma once
// The part of a dialect its client's protocol decides: the shape of errors.

#include "Dialect.h"
#include "ErrorBody.h"

namespace sluice::kernel {

class ClientShaped : public Dialect {
public:
    explicit ClientShaped(Protocol client) : _client(client) {}

    std::string errorBody(int status, const std::string& message, const std::string& code) const override {
        return kernel::errorBody(_client, status, message, code);
    }
    std::string streamErrorFrame(const std::string& message, const std::string& code) const override {
        return kernel::streamErrorFrame(_client, message, code);
    }

protected:
    Protocol client() const { return _client; }

private:
    Protocol _client;
};

} // namespace sluice::kernel
