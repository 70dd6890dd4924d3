#pragma once
// What the fuzz targets share: a broken invariant aborts naming itself, so
// libFuzzer keeps the input exactly as it keeps one that crashed a
// sanitizer; and piece sizes that play the socket, which hands a parser its
// bytes cut wherever the network cut them.
//
// SLUICE_FUZZ_IGNORE lists invariant names (separated by '|') left
// unchecked: a long campaign can look for other bugs after one was found and
// reported, before it is fixed. The tests never set it.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace sluice::fuzz {

inline bool ignored(std::string_view invariant) {
    static const std::string list = [] {
        const char* text = std::getenv("SLUICE_FUZZ_IGNORE");
        return text ? "|" + std::string(text) + "|" : std::string();
    }();
    return !list.empty() && list.find("|" + std::string(invariant) + "|") != std::string::npos;
}

// `detail` with bytes outside printable ASCII as \xNN, so a CR or NUL in it shows.
inline std::string printable(std::string_view detail) {
    std::string out;
    for (const char c : detail) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && c != '\\') {
            out += c;
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", u);
            out += escaped;
        }
    }
    return out;
}

[[noreturn]] inline void violated(std::string_view invariant, std::string_view detail = {}) {
    std::fprintf(stderr, "invariant violated: %.*s%s%s\n", static_cast<int>(invariant.size()), invariant.data(),
                 detail.empty() ? "" : ": ", printable(detail.substr(0, 256)).c_str());
    std::abort();
}

inline void check(bool condition, std::string_view invariant, std::string_view detail = {}) {
    if (!condition && !ignored(invariant)) violated(invariant, detail);
}

// Sizes for cutting an input into reads. Deterministic in `seed`, which the
// targets take from the input, so a crash reproduces and mutating the seed
// bytes moves the cuts. Mostly small pieces (every cut inside a delimiter
// gets tried), sometimes large ones.
class PieceSizes {
public:
    explicit PieceSizes(std::uint64_t seed) : _state(seed) {}

    // The next piece's size, 1 to `left` (0 only when nothing is left).
    std::size_t next(std::size_t left) {
        if (left == 0) return 0;
        const auto r = random();
        std::size_t size = 0;
        switch (r % 4) {
        case 0: size = 1; break;
        case 1: size = 1 + (r >> 8) % 8; break;
        case 2: size = 1 + (r >> 8) % 64; break;
        default: size = 1 + (r >> 8) % 16384; break;
        }
        return size < left ? size : left;
    }

    // A number below `bound` (bound > 0), for choices other than sizes.
    std::uint64_t below(std::uint64_t bound) { return random() % bound; }

private:
    std::uint64_t random() {  // splitmix64
        std::uint64_t z = (_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    std::uint64_t _state;
};

// The first `count` bytes of `input` as a number (missing bytes are 0), for
// seeding PieceSizes from an input's header bytes.
inline std::uint64_t seedFrom(std::string_view input, std::size_t count) {
    std::uint64_t seed = 0;
    for (std::size_t i = 0; i < count && i < input.size(); ++i) seed = seed << 8 | static_cast<unsigned char>(input[i]);
    return seed;
}

} // namespace sluice::fuzz
