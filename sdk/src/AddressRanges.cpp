#include "sluice/AddressRanges.h"

#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>

namespace sluice {

namespace {
constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// ::ffff:a.b.c.d compares as a.b.c.d.
void fold(std::array<unsigned char, 16>& bytes, std::size_t& length) {
    if (length == 16 && std::memcmp(bytes.data(), kMappedPrefix, sizeof kMappedPrefix) == 0) {
        std::memmove(bytes.data(), bytes.data() + 12, 4);
        length = 4;
    }
}

bool samePrefix(const unsigned char* a, const unsigned char* b, unsigned bits) {
    std::size_t index = 0;
    for (; bits >= 8; bits -= 8, ++index)
        if (a[index] != b[index]) return false;
    if (bits == 0) return true;
    const auto mask = static_cast<unsigned char>(0xff << (8 - bits));
    return (a[index] & mask) == (b[index] & mask);
}
} // namespace

bool AddressRanges::parse(const std::string& text, std::array<unsigned char, 16>& bytes, std::size_t& length) {
    bytes.fill(0);
    if (inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) {
        length = 4;
        return true;
    }
    if (inet_pton(AF_INET6, text.c_str(), bytes.data()) == 1) {
        length = 16;
        fold(bytes, length);
        return true;
    }
    return false;
}

AddressRanges::AddressRanges(const std::vector<std::string>& entries) {
    for (const auto& entry : entries) {
        const auto slash = entry.find('/');
        Range range;
        if (!parse(entry.substr(0, slash), range.network, range.length))
            throw std::invalid_argument("'" + entry + "' is not an IP address or CIDR range");
        const unsigned maxBits = range.length == 4 ? 32 : 128;
        range.prefixBits = maxBits;
        if (slash != std::string::npos) {
            const auto text = entry.substr(slash + 1);
            if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string::npos ||
                std::stoul(text) > maxBits)
                throw std::invalid_argument("'" + entry + "' has a bad prefix length");
            range.prefixBits = static_cast<unsigned>(std::stoul(text));
        }
        _ranges.push_back(range);
    }
}

bool AddressRanges::contains(const std::string& address) const {
    std::array<unsigned char, 16> bytes{};
    std::size_t length = 0;
    return parse(address, bytes, length) && contains(bytes.data(), length);
}

bool AddressRanges::contains(const void* address, std::size_t length) const {
    if (length != 4 && length != 16) return false;
    std::array<unsigned char, 16> bytes{};
    std::memcpy(bytes.data(), address, length);
    fold(bytes, length);
    for (const auto& range : _ranges)
        if (range.length == length && samePrefix(bytes.data(), range.network.data(), range.prefixBits)) return true;
    return false;
}

} // namespace sluice
