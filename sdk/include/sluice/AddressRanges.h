#pragma once
// A list of IP addresses and CIDR ranges ("10.0.0.0/8", "127.0.0.1", "::1",
// "fd00::/8"), and whether an address falls in one of them. The kernel's
// server.trusted_proxies is one; a plugin may keep its own (header-auth's
// auth.header.proxies). IPv4-mapped IPv6 addresses (::ffff:10.0.0.1) match
// as their IPv4 selves. Immutable once built; any thread may read it.

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "sluice/Abi.h"

namespace sluice {

class SLUICE_API AddressRanges {
public:
    AddressRanges() = default;
    // Throws std::invalid_argument naming the first bad entry.
    explicit AddressRanges(const std::vector<std::string>& entries);

    // A textual address ("10.0.0.5", "::1"); false for anything that is not one.
    bool contains(const std::string& address) const;
    // An address in network byte order: 4 bytes (IPv4) or 16 (IPv6).
    bool contains(const void* address, std::size_t length) const;
    bool empty() const { return _ranges.empty(); }

    // Parses an address strictly (no trailing junk); false if it is none.
    // `bytes` gets 4 or 16 bytes, IPv4-mapped IPv6 folded to IPv4.
    static bool parse(const std::string& text, std::array<unsigned char, 16>& bytes, std::size_t& length);

private:
    struct Range {
        std::array<unsigned char, 16> network{};
        std::size_t length = 0;  // 4 or 16
        unsigned prefixBits = 0;
    };
    std::vector<Range> _ranges;
};

} // namespace sluice
