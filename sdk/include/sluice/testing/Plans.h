#pragma once
// Reading what a router decided, for assertions:
//   CPPUNIT_ASSERT(Names({"gpu-2", "gpu-1"}) == sluice::testing::backendsOf(*ctx));
// Part of the SDK's test helpers (Sluice::testing).

#include <string>
#include <vector>

#include "sluice/RequestContext.h"

namespace sluice::testing {

// The plan's backends, in the order the kernel would try them.
inline std::vector<std::string> backendsOf(const RequestContext& ctx) {
    std::vector<std::string> names;
    for (const auto& candidate : ctx.plan.candidates) names.push_back(candidate.backend);
    return names;
}

} // namespace sluice::testing
