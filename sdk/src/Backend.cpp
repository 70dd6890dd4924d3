#include "sluice/Backend.h"

#include <Poco/String.h>

namespace sluice {

std::string Backend::authHeaderValue() const {
    if (authToken.empty()) return {};
    // A non-Authorization header (x-api-key and the like) carries the raw token.
    if (Poco::icompare(authHeader, "Authorization") != 0 || authScheme.empty()) return authToken.reveal();
    return authScheme + " " + authToken.reveal();
}

} // namespace sluice
