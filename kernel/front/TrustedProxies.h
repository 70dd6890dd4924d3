#pragma once
// Who the client is when Sluice sits behind a load balancer or nginx.
// `server.trusted_proxies` lists the addresses and CIDR ranges of proxies
// whose X-Forwarded-For Sluice believes. For a request from a trusted peer
// the client is the right-most X-Forwarded-For entry that is not itself a
// trusted proxy (entries further left were written by the client and can be
// anything). From any other peer the header is ignored: a client cannot
// choose its own address, so per-address limits cannot be dodged.

#include <string>
#include <vector>

#include <Poco/Net/IPAddress.h>

#include "sluice/AddressRanges.h"

namespace sluice::kernel {

class TrustedProxies {
public:
    TrustedProxies() = default;
    // Entries like "10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8".
    // Throws std::invalid_argument naming a bad entry.
    explicit TrustedProxies(const std::vector<std::string>& entries);

    bool trusts(const Poco::Net::IPAddress& address) const;

    // The client's address for a request from `peer` carrying `forwardedFor`
    // (the X-Forwarded-For value, or nullptr).
    std::string clientAddress(const Poco::Net::IPAddress& peer, const std::string* forwardedFor) const;

private:
    AddressRanges _ranges;
};

} // namespace sluice::kernel
