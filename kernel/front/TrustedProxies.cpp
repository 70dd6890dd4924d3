#include "front/TrustedProxies.h"

#include <array>

#include <Poco/String.h>

namespace sluice::kernel {

namespace {
// IPv4-mapped IPv6 peers (::ffff:10.0.0.1) compare as their IPv4 selves.
Poco::Net::IPAddress unmapped(const Poco::Net::IPAddress& address) {
    if (address.family() == Poco::Net::IPAddress::IPv6 && address.isIPv4Mapped()) {
        const auto* bytes = static_cast<const unsigned char*>(address.addr());
        return Poco::Net::IPAddress(bytes + 12, 4);
    }
    return address;
}

// The same strict parser as the ranges' (no trailing junk, "::" too).
bool parseAddress(const std::string& text, Poco::Net::IPAddress& address) {
    std::array<unsigned char, 16> bytes{};
    std::size_t length = 0;
    if (!AddressRanges::parse(text, bytes, length)) return false;
    address = Poco::Net::IPAddress(bytes.data(), static_cast<poco_socklen_t>(length));
    return true;
}
} // namespace

TrustedProxies::TrustedProxies(const std::vector<std::string>& entries) : _ranges(entries) {}

bool TrustedProxies::trusts(const Poco::Net::IPAddress& address) const {
    return _ranges.contains(address.addr(), address.length());
}

std::string TrustedProxies::clientAddress(const Poco::Net::IPAddress& peer, const std::string* forwardedFor) const {
    const auto plainPeer = unmapped(peer);
    if (forwardedFor == nullptr || !trusts(plainPeer)) return plainPeer.toString();
    // Walk from the right: each hop appended the address it saw.
    std::string rest = *forwardedFor;
    std::string client = plainPeer.toString();
    while (!rest.empty()) {
        const auto comma = rest.rfind(',');
        const auto item = Poco::trim(comma == std::string::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string::npos ? std::string() : rest.substr(0, comma);
        Poco::Net::IPAddress hop;
        // Garbage where an address should be: stop believing the header here.
        if (!parseAddress(item, hop)) break;
        client = unmapped(hop).toString();
        if (!trusts(hop)) break;
    }
    return client;
}

} // namespace sluice::kernel
