#include "ClientSession.h"

#include <algorithm>
#include <cstring>

namespace sluice::kernel {

ClientSession::ClientSession(const Poco::Net::StreamSocket& socket, const Poco::Net::HTTPServerParams::Ptr& params,
                             std::string received)
    : HTTPServerSession(socket, params), _received(std::move(received)) {}

ClientSession::~ClientSession() {
    try {
        detachSocket();
    } catch (...) {
    }
}

int ClientSession::read(char* buffer, std::streamsize length) {
    if (_receivedAt < _received.size()) {
        const auto n = std::min<std::size_t>(static_cast<std::size_t>(length), _received.size() - _receivedAt);
        std::memcpy(buffer, _received.data() + _receivedAt, n);
        _receivedAt += n;
        return static_cast<int>(n);
    }
    return HTTPServerSession::read(buffer, length);
}

std::string ClientSession::takeUnread() {
    std::string unread = _received.substr(_receivedAt);
    _received.clear();
    _receivedAt = 0;
    // Poco's buffer: read() serves it before touching the socket.
    while (buffered() > 0) {
        char chunk[4096];
        const int n = HTTPServerSession::read(chunk, std::min<int>(buffered(), static_cast<int>(sizeof chunk)));
        if (n <= 0) break;
        unread.append(chunk, static_cast<std::size_t>(n));
    }
    return unread;
}

} // namespace sluice::kernel
