#pragma once
// Classifies a request by method and path into a Route, once, at the front.

#include <string>
#include <string_view>

#include "sluice/Route.h"

namespace sluice::kernel {

struct Classified {
    Route route;
    bool methodAllowed = true;  // false: the path is known but not for this method (405)
    std::string modelId;        // the {id} of /v1/models/{id}
};

Classified classify(std::string_view method, std::string_view path);

// The protocol a path's errors are shaped in, for answers given before a
// route is known (a malformed head): the door the path belongs to.
Protocol protocolOf(std::string_view path);

} // namespace sluice::kernel
