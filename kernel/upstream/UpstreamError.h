#pragma once
// Why an upstream exchange failed. The forwarder decides from the kind
// whether to fail over and which status the client gets if nothing serves.

#include <stdexcept>
#include <string>

namespace sluice::kernel {

class UpstreamError : public std::runtime_error {
public:
    enum class Kind {
        Connect,     // could not connect (refused, unreachable, DNS, TLS handshake)
        Timeout,     // no first byte, or no chunk, within the backend's timeout
        Closed,      // the connection closed or reset before the answer was complete
        Protocol,    // the answer was not valid HTTP/1.1
        ClientGone,  // our client went away: stop the upstream request
        Draining,    // SIGTERM's drain time is over: end the request, fail nothing over
        Overloaded,  // the gateway itself is short (answer buffers, descriptors): 503, fail nothing over
    };
    UpstreamError(Kind kind, const std::string& what) : std::runtime_error(what), _kind(kind) {}
    // An Overloaded error says what the client is told; what() is the operator's line.
    UpstreamError(Kind kind, const std::string& what, std::string clientMessage)
        : std::runtime_error(what), _kind(kind), _clientMessage(std::move(clientMessage)) {}
    Kind kind() const { return _kind; }
    const std::string& clientMessage() const { return _clientMessage; }

private:
    Kind _kind;
    std::string _clientMessage;
};

} // namespace sluice::kernel
