#pragma once
// The TLS client context for an https backend, built the same way wherever
// Sluice talks to it (the forwarder's pool, discovery). Include it only from
// code that links Poco::NetSSL.

#include <Poco/Net/Context.h>

#include "sluice/Backend.h"

namespace sluice {

// Verifies the backend's certificate chain against the system's CAs plus
// backend.tlsCaFile, and its name against backend.host (set the peer host name
// on the socket), unless backend.tlsVerify is false. STRICT, because Poco's
// RELAXED mode skips the name check for peers on localhost addresses.
inline Poco::Net::Context::Ptr makeBackendTlsContext(const Backend& backend) {
    using Poco::Net::Context;
    return new Context(Context::TLS_CLIENT_USE, backend.tlsCaFile,
                       backend.tlsVerify ? Context::VERIFY_STRICT : Context::VERIFY_NONE, 9, true);
}

} // namespace sluice
