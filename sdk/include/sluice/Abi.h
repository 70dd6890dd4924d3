#pragma once
// The plugin ABI: what a plugin library and the kernel must agree on before
// any C++ object crosses between them. See docs/plugins.md for what bumps it.

#include <cstdint>

#include <Poco/Version.h>
#include <nlohmann/detail/abi_macros.hpp>

// Bump MAJOR for any change to a type that crosses the boundary (a stage
// interface, RequestContext, the descriptor's layout). Bump MINOR for
// additions a newer kernel can serve to an older plugin.
#define SLUICE_ABI_MAJOR 9
#define SLUICE_ABI_MINOR 0

#define SLUICE_STRINGIFY_IMPL(x) #x
#define SLUICE_STRINGIFY(x) SLUICE_STRINGIFY_IMPL(x)

// C++ types cross the boundary, so both sides must use the same compiler
// family, standard library ABI and language standard.
#if defined(__clang__)
#define SLUICE_COMPILER_ID "clang-" SLUICE_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define SLUICE_COMPILER_ID "gcc-" SLUICE_STRINGIFY(__GNUC__)
#else
#define SLUICE_COMPILER_ID "unknown"
#endif
#if defined(_GLIBCXX_USE_CXX11_ABI)
#define SLUICE_STDLIB_ID "libstdc++/cxx11abi=" SLUICE_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#else
#define SLUICE_STDLIB_ID "other-stdlib"
#endif
// Poco and nlohmann::json types cross the boundary too (the configuration,
// the request body), and so does every standard type: their versions and the
// language standard are part of the signature.
#define SLUICE_DEPENDENCY_ID                                                                               \
    "c++" SLUICE_STRINGIFY(__cplusplus) " poco=" SLUICE_STRINGIFY(POCO_VERSION) " nlohmann_json="         \
        SLUICE_STRINGIFY(NLOHMANN_JSON_VERSION_MAJOR) "." SLUICE_STRINGIFY(NLOHMANN_JSON_VERSION_MINOR) "." \
            SLUICE_STRINGIFY(NLOHMANN_JSON_VERSION_PATCH)
#define SLUICE_BUILD_SIGNATURE SLUICE_COMPILER_ID " " SLUICE_STDLIB_ID " " SLUICE_DEPENDENCY_ID

#define SLUICE_API __attribute__((visibility("default")))

namespace sluice {
inline constexpr std::uint32_t kAbiMajor = SLUICE_ABI_MAJOR;
inline constexpr std::uint32_t kAbiMinor = SLUICE_ABI_MINOR;
inline constexpr const char* kBuildSignature = SLUICE_BUILD_SIGNATURE;
} // namespace sluice
