#include "front/TrustedProxies.h"

#include <stdexcept>

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

// Poco's parser is lenient ("10.0.0.1 junk" reads as 10.0.0.1) and cannot
// read "::": accept only address characters, and "::" by hand.
bool parseAddress(const std::string& text, Poco::Net::IPAddress& address) {
    if (text.empty() || text.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos) return false;
    if (text == "::") {
        address = Poco::Net::IPAddress(Poco::Net::IPAddress::IPv6);
        return true;
    }
    return Poco::Net::IPAddress::tryParse(text, address);
}

bool samePrefix(const Poco::Net::IPAddress& a, const Poco::Net::IPAddress& b, unsigned bits) {
    if (a.family() != b.family()) return false;
    const auto* x = static_cast<const unsigned char*>(a.addr());
    const auto* y = static_cast<const unsigned char*>(b.addr());
    unsigned index = 0;
    for (; bits >= 8; bits -= 8, ++index)
        if (x[index] != y[index]) return false;
    if (bits == 0) return true;
    const auto mask = static_cast<unsigned char>(0xff << (8 - bits));
    return (x[index] & mask) == (y[index] & mask);
}
} // namespace

TrustedProxies::TrustedProxies(const std::vector<std::string>& entries) {
    for (const auto& entry : entries) {
        const auto slash = entry.find('/');
        Poco::Net::IPAddress network;
        if (!parseAddress(entry.substr(0, slash), network))
            throw std::invalid_argument("'" + entry + "' is not an IP address or CIDR range");
        network = unmapped(network);
        const unsigned maxBits = network.family() == Poco::Net::IPAddress::IPv4 ? 32 : 128;
        unsigned bits = maxBits;
        if (slash != std::string::npos) {
            const auto text = entry.substr(slash + 1);
            if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string::npos ||
                std::stoul(text) > maxBits)
                throw std::invalid_argument("'" + entry + "' has a bad prefix length");
            bits = static_cast<unsigned>(std::stoul(text));
        }
        _ranges.push_back({network, bits});
    }
}

bool TrustedProxies::trusts(const Poco::Net::IPAddress& address) const {
    const auto plain = unmapped(address);
    for (const auto& range : _ranges)
        if (samePrefix(plain, range.network, range.prefixLength)) return true;
    return false;
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
