#pragma once
// One send or receive that does not wait, over a plain or a TLS socket, as
// the client's session and a backend connection both make them: the bytes it
// moved (a receive's 0: the end), or, with none moved, what it waits for.
// Under TLS either call may wait for either: a record's rest to read, or a
// handshake's bytes to send (Poco's ERR_SSL_WANT_READ / ERR_SSL_WANT_WRITE
// over a non-blocking socket).

#include <cstddef>
#include <optional>

#include <Poco/Net/SecureStreamSocket.h>

#include "ClientChannel.h"

namespace sluice::kernel {

struct Transfer {
    std::size_t bytes = 0;
    std::optional<Await> waitsFor;
};

// What a Poco TLS call's result says it waits for; nullopt: it waits for nothing.
inline std::optional<Await> tlsWants(int result) {
    if (result == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_READ) return Await::Readable;
    if (result == Poco::Net::SecureStreamSocket::ERR_SSL_WANT_WRITE) return Await::Writable;
    return std::nullopt;
}

} // namespace sluice::kernel
