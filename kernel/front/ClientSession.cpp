#include "ClientSession.h"

#include <cerrno>

#include <poll.h>

#include <Poco/Net/StreamSocket.h>

namespace sluice::kernel {

ClientSession::ClientSession(const Poco::Net::StreamSocket& socket, const Poco::Net::HTTPServerParams::Ptr& params,
                             bool secure)
    : HTTPServerSession(socket, params), _keepAliveMillis(static_cast<int>(params->getKeepAliveTimeout().totalMilliseconds())),
      _secure(secure) {}

bool ClientSession::nextRequest() {
    // The first request, and TLS (decrypted bytes the socket does not
    // show), take Poco's way; it also starts the keep-alive accounting.
    if (_first || _secure) {
        _first = false;
        return hasMoreRequests();
    }
    if (!socket().impl()->initialized() || !getKeepAlive() || !canKeepAlive()) return false;
    if (buffered() > 0) return true;
    pollfd fd{socket().impl()->sockfd(), POLLIN, 0};
    int ready = 0;
    do ready = ::poll(&fd, 1, _keepAliveMillis);
    while (ready < 0 && errno == EINTR);
    return ready > 0;  // data, or a hang-up the head reader then sees
}

} // namespace sluice::kernel
