#pragma once
// Why a store operation failed, in words an operator can act on. The message
// never contains a password from the store URL or a key's hash.

#include <stdexcept>

namespace sluice::store {

class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The thing asked for is not there (an unknown tenant or key id).
class NotFound : public StoreError {
public:
    using StoreError::StoreError;
};

// The thing to create is there already.
class AlreadyExists : public StoreError {
public:
    using StoreError::StoreError;
};

} // namespace sluice::store
